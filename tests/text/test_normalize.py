"""Tests for aupguard.text.normalize: every evasion trick folds, benign text survives, and the
offset map back to the original stays exact."""

from __future__ import annotations

import itertools
import random
import unicodedata
from importlib import resources

import pytest

from aupguard.text import NormalizedText, normalize, squeeze_repeats
from aupguard.text.normalize import T2S

# ----------------------------------------------------------------------------- folding tables

FOLDS: list[tuple[str, str]] = [
    # 1. invisible characters, controls, accents
    ("nu\u200bde", "nude"),
    ("n\u200cu\u200dd\u200ee", "nude"),
    ("nu\u200fde", "nude"),
    ("nu\u2060d\u2063e", "nude"),
    ("n\ufeffude", "nude"),
    ("nu\u180ede", "nude"),
    ("nu\u00adde", "nude"),
    ("nu\u202ede\u202c", "nude"),
    ("n\u2066ude\u2069", "nude"),
    ("nu\x00d\x07e", "nude"),
    ("nu\x85de", "nu de"),
    ("nu\U000e0041de", "nude"),
    ("nu\ufe0fde", "nude"),
    ("nu\U000e0100de", "nude"),
    ("nüde", "nude"),
    ("nu\u0308de", "nude"),
    ("n\u0336u\u0336d\u0336e\u0336", "nude"),
    ("ṅ̸ụ̷ḍ̶ẹ̵", "nude"),
    ("café", "cafe"),
    ("ÉLAN", "elan"),
    ("naïve façade", "naive facade"),
    ("straße", "strasse"),
    ("İstanbul", "istanbul"),
    ("ǰ", "j"),
    ("søren łódź", "soren lodz"),
    ("tab\tnew\nline\r\nend", "tab new line end"),
    # 2. NFKC + casefold
    ("ｎｕｄｅ", "nude"),
    ("ＮＵＤＥ", "nude"),
    ("𝐧𝐮𝐝𝐞", "nude"),
    ("𝓷𝓾𝓭𝓮", "nude"),
    ("𝔫𝔲𝔡𝔢", "nude"),
    ("𝕟𝕦𝕕𝕖", "nude"),
    ("ⓝⓤⓓⓔ", "nude"),
    ("Ⓝⓤⓓⓔ", "nude"),
    ("🅝🅤🅓🅔", "nude"),
    ("🅽🆄🅳🅴", "nude"),
    ("🇳🇺🇩🇪", "nude"),
    ("ɴᴜᴅᴇ", "nude"),
    ("ﬁlm", "film"),
    ("NUDE", "nude"),
    ("\u3000nude\u3000", "nude"),
    ("ｎ．ｕ．ｄ．ｅ", "nude"),
    # 3. homoglyphs inside Latin words
    ("nudе", "nude"),  # Cyrillic ie
    ("рorn", "porn"),  # Cyrillic er
    ("ѕех", "sex"),  # all Cyrillic look-alikes, text mostly Latin
    ("ѕех pics", "sex pics"),
    ("sеху", "sexy"),  # Cyrillic у at the end of a word reads y
    ("a nуde woman", "a nude woman"),  # ... and u between consonants
    ("уes", "yes"),
    ("УES", "yes"),
    ("kіll", "kill"),
    ("ԁick", "dick"),
    ("ɡore", "gore"),
    ("nαked", "naked"),
    ("nυde", "nude"),
    ("ΡΟRΝ", "porn"),
    ("ΚΙLL", "kill"),
    ("show me the ѕех tape", "show me the sex tape"),
    ("bomb 4 sаle", "bomb 4 sale"),
    # 4. leetspeak
    ("p0rn", "porn"),
    ("s3x", "sex"),
    ("n00d", "nood"),
    ("k1ll", "kill"),
    ("@ss", "ass"),
    ("$ex", "sex"),
    ("a$$", "ass"),
    ("b00bs", "boobs"),
    ("pr0n", "pron"),
    ("n4k3d", "naked"),
    ("5ex", "sex"),
    ("7error", "terror"),
    ("8itch", "bitch"),
    ("9ore", "gore"),
    ("sh!t", "shit"),
    ("k!ll", "kill"),
    ("ki+ten", "kitten"),
    ("m@sturbate", "masturbate"),
    ("l33t h4x0r", "leet haxor"),
    ("h3ll0 w0rld", "hello world"),
    ("nud3", "nude"),
    ("P0RN", "porn"),
    # 5. separator tricks
    ("n.u.d.e", "nude"),
    ("n u d e", "nude"),
    ("k-i-l-l", "kill"),
    ("s e x y", "sexy"),
    ("n_u_d_e", "nude"),
    ("n*u*d*e", "nude"),
    ("n/u/d/e", "nude"),
    ("n|u|d|e", "nude"),
    ("n·u·d·e", "nude"),
    ("n•u•d•e", "nude"),
    ("n~u~d~e", "nude"),
    ("n+u+d+e", "nude"),
    ("n,u,d,e", "nude"),
    ("n..u..d..e", "nude"),
    ("n . u . d . e", "nude"),
    ("n - u - d - e", "nude"),
    ("n   u   d   e", "nude"),
    ("n\tu\td\te", "nude"),
    ("n.u.d.e.s", "nudes"),
    ("look at this n.u.d.e pic", "look at this nude pic"),
    ("look at this n u d e pic", "look at this nude pic"),
    ("a n u d e woman", "a nude woman"),
    ("I k i l l you", "i kill you"),
    ("a n.u.d.e woman", "a nude woman"),
    ("p 0 r n", "porn"),
    ("s.3.x", "sex"),
    ("n.u.d.3", "nude"),
    ("$ e x", "sex"),
    ("n\u200b.u.d.e", "nude"),
    ("  lots   of\t\tspace  ", "lots of space"),
    # 6. repeats
    ("sooooo", "soo"),
    ("nuuuuude", "nuude"),
    ("kiiiiill", "kiill"),
    ("!!!!!", "!!"),
    ("k111ll", "kiill"),
    ("n.u.u.u.d.e", "nuude"),
    # 7. Traditional -> Simplified Chinese
    ("這個網站", "这个网站"),
    ("殺人", "杀人"),
    ("色情網站", "色情网站"),
    ("幹你娘", "干你娘"),
    ("髮型", "发型"),
    # 8. Chinese tricks
    ("色 情", "色情"),
    ("色*情", "色情"),
    ("色.情", "色情"),
    ("色 . 情", "色情"),
    ("色_情_片", "色情片"),
    ("色\u200b情", "色情"),
    ("色　情", "色情"),
    ("色／情", "色情"),
    ("色・情", "色情"),
    ("殺 人", "杀人"),
    ("我想看色 情片", "我想看色情片"),
    ("ｓｅｘ　视频", "sex 视频"),
    # combinations
    ("Ｎ.Ｕ.Ｄ.Ｅ", "nude"),
    ("N\u200b.Ü.D.Е", "nude"),
    ("nüdеs", "nudes"),
    ("𝐩𝟎𝐫𝐧", "porn"),
    ("ⓟ⓪ⓡⓝ", "porn"),
    ("s3xxxxy", "sexxy"),
]

BENIGN: list[tuple[str, str]] = [
    ("Kill the Python process", "kill the python process"),
    ("I bought 3 apples for $5", "i bought 3 apples for $5"),
    ("h264 1080p video", "h264 1080p video"),
    ("Convert the mp4 to mp3", "convert the mp4 to mp3"),
    ("In 2024 I turned 30", "in 2024 i turned 30"),
    ("pi is 3.14 and e is 2.71", "pi is 3.14 and e is 2.71"),
    ("a 12 year old boy reading", "a 12 year old boy reading"),
    ("4k 8k 3d render, 35mm", "4k 8k 3d render, 35mm"),
    ("1girl, solo, smiling", "1girl, solo, smiling"),
    ("the 2nd and 3rd place", "the 2nd and 3rd place"),
    ("meet at 5pm", "meet at 5pm"),
    ("a 4x4 truck at 1920x1080", "a 4x4 truck at 1920x1080"),
    ("It costs $5k", "it costs $5k"),
    ("python3 -m pip install k8s", "python3 -m pip install k8s"),
    ("write C++ code", "write c++ code"),
    ("Hello, world!", "hello, world!"),
    ("Wow!! Great!", "wow!! great!"),
    ("email me at user@example.com", "email me at user@example.com"),
    ("version v1.2.3 of the app", "version v1.2.3 of the app"),
    ("between 1 and 5", "between 1 and 5"),
    ("a + b = c", "a + b = c"),
    ("Please draw a cat in a hat", "please draw a cat in a hat"),
    (
        "The quick brown fox jumps over the lazy dog.",
        "the quick brown fox jumps over the lazy dog.",
    ),
    ("I am a teacher", "i am a teacher"),
    ("e.g. this, i.e. that", "e.g. this, i.e. that"),
    ("coffee, tee, and a cookie", "coffee, tee, and a cookie"),
    ("Привет, как дела?", "привет, как дела?"),
    ("Напиши короткий рассказ о море", "напиши короткии рассказ о море"),
    ("сор и мусор", "сор и мусор"),
    ("В 2024 году", "в 2024 году"),
    ("Καλημέρα κόσμε", "καλημερα κοσμε"),
    ("Ο καιρός είναι καλός", "ο καιροσ ειναι καλοσ"),  # final sigma case-folds to σ
    ("hello привет world", "hello привет world"),
    ("请帮我写一篇文章，谢谢。", "请帮我写一篇文章,谢谢。"),
    ("你好, 世界", "你好, 世界"),
    ("これはペンです", "これはペンです"),
    ("ガギグゲゴ", "ガギグゲゴ"),
    ("안녕하세요 세계", "안녕하세요 세계"),
    ("नमस्ते दुनिया", "नमस्ते दुनिया"),
    ("สวัสดีครับ", "สวัสดีครับ"),
    ("مرحبا بالعالم", "مرحبا بالعالم"),
    ("שלום עולם", "שלום עולם"),
    ("", ""),
    ("   ", ""),
    ("12345", "12345"),
    ("ha ha ha", "ha ha ha"),
]

# (input, folded word, the original substring its span must map back to)
EVIDENCE: list[tuple[str, str, str]] = [
    ("look at this n.u.d.e pic", "nude", "n.u.d.e"),
    ("look at this n u d e pic", "nude", "n u d e"),
    ("a n u d e woman", "nude", "n u d e"),
    ("a n\u0443de woman", "nude", "n\u0443de"),
    ("hardcore p*o*r*n", "porn", "p*o*r*n"),
    ("look at this n . u . d . e pic", "nude", "n . u . d . e"),
    ("ｎｕｄｅ", "nude", "ｎｕｄｅ"),
    ("see ｎｕｄｅ now", "nude", "ｎｕｄｅ"),
    ("𝐧𝐮𝐝𝐞!", "nude", "𝐧𝐮𝐝𝐞"),
    ("nu\u200bde", "nude", "nu\u200bde"),
    ("a n\u200bu\u200bd\u200be b", "nude", "n\u200bu\u200bd\u200be"),
    ("so nüde.", "nude", "nüde"),
    ("so nu\u0308de.", "nude", "nu\u0308de"),
    ("so nude\u0308 now", "nude", "nude\u0308"),
    ("my p0rn stash", "porn", "p0rn"),
    ("my s3x tape", "sex", "s3x"),
    ("@ss", "ass", "@ss"),
    ("the $ex scene", "sex", "$ex"),
    ("i will k-i-l-l you", "kill", "k-i-l-l"),
    ("nudе pics", "nude", "nudе"),
    ("nuuuuude pics", "nuude", "nuuuuude"),
    ("so sooooo cute", "soo", "sooooo"),
    ("這個網站", "这个网站", "這個網站"),
    ("我想看色 情片", "色情", "色 情"),
    ("我想看色 情片", "色情片", "色 情片"),
    ("殺人犯", "杀人", "殺人"),
    ("ﬁlm", "film", "ﬁlm"),
    ("STRASSE straße", "strasse", "STRASSE"),
    ("go to ﬁ", "fi", "ﬁ"),
    ("x N.U.D.E.", "nude", "N.U.D.E"),
    ("  padded   nude  ", "nude", "nude"),
    ("n.u.d.e\u200b\u200b pic", "nude", "n.u.d.e"),
    ("the 🇳🇺🇩🇪 flag", "nude", "🇳🇺🇩🇪"),
]

ALL_INPUTS = [t for t, _ in FOLDS] + [t for t, _ in BENIGN] + [t for t, _, _ in EVIDENCE]


@pytest.mark.parametrize(("raw", "expected"), FOLDS)
def test_tricks_fold_to_plain_form(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(("raw", "expected"), BENIGN)
def test_benign_text_changes_only_case_and_space(raw: str, expected: str) -> None:
    assert normalize(raw).text == expected


@pytest.mark.parametrize(("raw", "word", "span_text"), EVIDENCE)
def test_evidence_span_maps_back_to_original(raw: str, word: str, span_text: str) -> None:
    nt = normalize(raw)
    i = nt.text.index(word)
    start, end = nt.to_original(i, i + len(word))
    assert raw[start:end] == span_text


def _check_invariants(nt: NormalizedText) -> None:
    original, text, offsets = nt.original, nt.text, nt.offsets
    assert len(offsets) == len(text) + 1
    assert offsets[-1] == len(original)
    assert all(0 <= o <= len(original) for o in offsets)
    assert all(a <= b for a, b in itertools.pairwise(offsets))


@pytest.mark.parametrize("raw", ALL_INPUTS)
def test_table_inputs_invariants_and_idempotence(raw: str) -> None:
    nt = normalize(raw)
    _check_invariants(nt)
    assert normalize(nt.text).text == nt.text
    # every single folded character maps back into the original text
    for i in range(len(nt.text)):
        start, end = nt.to_original(i, i + 1)
        assert 0 <= start < end <= len(raw)


@pytest.mark.parametrize(("raw", "expected"), FOLDS)
def test_every_folded_word_covers_its_source(raw: str, expected: str) -> None:
    """Each folded word maps to a span whose own normalisation gives that word back."""
    nt = normalize(raw)
    pos = 0
    for word in expected.split(" "):
        i = nt.text.index(word, pos)
        pos = i + len(word)
        start, end = nt.to_original(i, pos)
        assert normalize(raw[start:end]).text == word, (raw, word, raw[start:end])


def test_offsets_of_full_width_text_point_at_each_char() -> None:
    nt = normalize("ｎｕｄｅ")
    assert nt.offsets == (0, 1, 2, 3, 4)


def test_offsets_of_ligature_repeat_the_source_index() -> None:
    nt = normalize("ﬁx")
    assert nt.text == "fix"
    assert nt.offsets == (0, 0, 1, 2)
    assert nt.to_original(1, 2) == (0, 1)


def test_empty_span_maps_to_empty_span() -> None:
    nt = normalize("a n.u.d.e")
    assert nt.to_original(2, 2) == (nt.offsets[2], nt.offsets[2])
    assert nt.to_original(len(nt.text), len(nt.text)) == (9, 9)


def test_normalize_empty_string() -> None:
    nt = normalize("")
    assert nt == NormalizedText(original="", text="", offsets=(0,))


def test_ascii_fast_path_has_identity_offsets() -> None:
    raw = "please write a poem about the sea"
    nt = normalize(raw)
    assert nt.text == raw
    assert nt.offsets == tuple(range(len(raw) + 1))


# ----------------------------------------------------------------------------- squeeze_repeats


@pytest.mark.parametrize(
    ("raw", "squeezed", "word", "span_text"),
    [
        ("kiiiill", "kil", "kil", "kiiiill"),
        ("nuuude pics", "nude pics", "nude", "nuuude"),
        ("I will kiiiiilll you", "i wil kil you", "kil", "kiiiiilll"),
        ("sooo nuuuudeee", "so nude", "nude", "nuuuudeee"),
        ("k1111ll", "kil", "kil", "k1111ll"),
        ("n.u.u.u.d.e", "nude", "nude", "n.u.u.u.d.e"),
        ("哈哈哈哈", "哈", "哈", "哈哈哈哈"),
        ("bookkeeper", "bokeper", "bokeper", "bookkeeper"),
    ],
)
def test_squeeze_repeats(raw: str, squeezed: str, word: str, span_text: str) -> None:
    nt = squeeze_repeats(normalize(raw))
    assert nt.text == squeezed
    assert nt.original == raw
    _check_invariants(nt)
    i = nt.text.index(word)
    start, end = nt.to_original(i, i + len(word))
    assert raw[start:end] == span_text


def test_squeeze_keeps_digits_and_punctuation() -> None:
    nt = squeeze_repeats(normalize("call 555 1000!!"))
    assert nt.text == "cal 55 100!!"


def test_squeeze_without_repeats_returns_same_object() -> None:
    nt = normalize("nude")
    assert squeeze_repeats(nt) is nt


# ----------------------------------------------------------------------------- random invariants

_ASCII_POOL = list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789 .-_*/|·•~+,!@$#%&()'\"\t\n")
_UNICODE_POOL = [
    *"аеорсухіјѕԁһӏвкмнтпигьαορικνχυεγτημωβζϲ",
    *"色情這個網站殺人测试中文漢字",
    *"\u200b\u200d\u00ad\u202e\ufe0f\U000e0041\u0301\u0308\u093f\u0915\u0e01\u0e48\u3000",
    *"ｎｕ𝐧ßﬁİǰ゛ᾳ\u0345½①🇳🅝ŀ\x00\x85",
]
_FRAGMENTS = [
    "n.u.d.e",
    "s 3 x",
    "p0rn",
    "k1ll",
    "@ss",
    "$ex",
    "hello",
    "the",
    "a",
    "b",
    "I",
    "2",
    "3",
    "sooooo",
    "!!!",
    "...",
    "   ",
    "色 情",
    "привет",
    "сор",
    "nudе",
    "ѕех",
    "καλημέρα",
    "h264",
    "mp4",
    "c++",
    "x|y",
]


def _random_text(rng: random.Random) -> str:
    kind = rng.random()
    n = rng.randint(0, 40)
    if kind < 0.25:
        return "".join(rng.choice(_ASCII_POOL) for _ in range(n))
    if kind < 0.5:
        return "".join(rng.choice(_ASCII_POOL + _UNICODE_POOL) for _ in range(n))
    if kind < 0.75:
        sep = rng.choice(["", " ", ".", "-"])
        pool = _FRAGMENTS + _UNICODE_POOL + _ASCII_POOL
        return sep.join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
    cps = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            cps.append(rng.randint(0, 0xFFFF))
        elif r < 0.9:
            cps.append(rng.randint(0x10000, 0x1FFFF))
        else:
            cps.append(rng.randint(0, 0x10FFFF))
    return "".join(map(chr, cps))


def test_random_strings_keep_the_invariants() -> None:
    rng = random.Random(20240601)
    for _ in range(4000):
        raw = _random_text(rng)
        nt = normalize(raw)
        _check_invariants(nt)
        assert normalize(nt.text).text == nt.text, ascii(raw)
        sq = squeeze_repeats(nt)
        _check_invariants(sq)
        assert sq.original == raw
        for i in range(len(nt.text)):
            j = min(len(nt.text), i + rng.randint(1, 6))
            start, end = nt.to_original(i, j)
            assert 0 <= start < end <= len(raw)
            assert start == nt.offsets[i]


def test_every_bmp_character_alone_is_idempotent() -> None:
    for cp in range(0x10000):
        raw = "x" + chr(cp) + "y"
        nt = normalize(raw)
        assert normalize(nt.text).text == nt.text, hex(cp)
        _check_invariants(nt)


# ----------------------------------------------------------------------------- data files


def test_t2s_table_loads_with_many_entries() -> None:
    assert len(T2S) > 2000
    assert T2S["這"] == "这"
    assert T2S["殺"] == "杀"
    # one code point to one code point, and already resolved (idempotent)
    assert all(len(k) == 1 and len(v) == 1 for k, v in T2S.items())
    assert all(v not in T2S for v in T2S.values())


def test_data_files_have_headers() -> None:
    data = resources.files("aupguard.text") / "data"
    t2s = (data / "t2s.tsv").read_text(encoding="utf-8")
    assert "OpenCC" in t2s.splitlines()[1]
    assert "Apache" in t2s[:600]
    homoglyphs = (data / "homoglyphs.tsv").read_text(encoding="utf-8")
    assert homoglyphs.startswith("#")
    assert "confusables" in homoglyphs[:400]
    for line in homoglyphs.splitlines():
        if line.startswith("#"):
            continue
        cp, char, latin, upper, scope, name = line.split("\t")
        assert chr(int(cp.removeprefix("U+"), 16)) == char
        assert unicodedata.name(char) == name
        assert all(form.isascii() and form.isalpha() for form in latin.split("/"))
        assert upper == "-" or (len(upper) == 1 and upper.isascii() and upper.isalpha())
        assert scope in {"always", "strong", "rare", "weak"}
