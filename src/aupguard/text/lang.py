"""Cheap language identification from Unicode script statistics.

``detect_language`` returns an ISO 639-1 code. It decides by the dominant script of the
letters: Han without kana is ``zh``, kana ``ja``, Hangul ``ko``, Cyrillic ``ru`` (Ukrainian and
other Cyrillic languages included), Arabic ``ar``, Devanagari ``hi``, Thai ``th``, Hebrew
``he``, Greek ``el``. Latin-script text is ``en`` unless a tiny stop-word count says Spanish,
French, German, Portuguese or Italian. Text without letters is ``und``.

It works on raw text as well as on the output of :func:`aupguard.text.normalize` (case-folded,
accents stripped): the stop-word lists hold both spellings.
"""

from __future__ import annotations

import re
from collections import Counter

__all__ = ["detect_language"]

# script code for a letter; characters that are not letters are dropped by the table
_LATIN, _CYRILLIC, _GREEK, _HAN, _KANA, _HANGUL = "L", "C", "G", "H", "K", "O"
_ARABIC, _DEVANAGARI, _THAI, _HEBREW, _OTHER = "A", "D", "T", "E", "X"

_RANGES: tuple[tuple[int, int, str], ...] = (
    (0x0041, 0x024F, _LATIN),
    (0x0250, 0x02AF, _LATIN),
    (0x0370, 0x03FF, _GREEK),
    (0x0400, 0x052F, _CYRILLIC),
    (0x0590, 0x05FF, _HEBREW),
    (0x0600, 0x06FF, _ARABIC),
    (0x0750, 0x077F, _ARABIC),
    (0x08A0, 0x08FF, _ARABIC),
    (0x0900, 0x097F, _DEVANAGARI),
    (0x0E00, 0x0E7F, _THAI),
    (0x1100, 0x11FF, _HANGUL),
    (0x1C80, 0x1C8F, _CYRILLIC),
    (0x1D00, 0x1DBF, _LATIN),
    (0x1E00, 0x1EFF, _LATIN),
    (0x1F00, 0x1FFF, _GREEK),
    (0x2C60, 0x2C7F, _LATIN),
    (0x2DE0, 0x2DFF, _CYRILLIC),
    (0x3005, 0x3007, _HAN),
    (0x3040, 0x30FF, _KANA),
    (0x3130, 0x318F, _HANGUL),
    (0x31F0, 0x31FF, _KANA),
    (0x3400, 0x4DBF, _HAN),
    (0x4E00, 0x9FFF, _HAN),
    (0xA640, 0xA69F, _CYRILLIC),
    (0xA720, 0xA7FF, _LATIN),
    (0xAB30, 0xAB6F, _LATIN),
    (0xAC00, 0xD7AF, _HANGUL),
    (0xF900, 0xFAFF, _HAN),
    (0xFB1D, 0xFB4F, _HEBREW),
    (0xFB50, 0xFDFF, _ARABIC),
    (0xFE70, 0xFEFF, _ARABIC),
    (0xFF21, 0xFF5A, _LATIN),
    (0xFF66, 0xFF9F, _KANA),
    (0xFFA0, 0xFFDC, _HANGUL),
    (0x20000, 0x3134F, _HAN),
)
_CACHE_MAX = 50_000


def _script_of(ch: str) -> str | None:
    o = ord(ch)
    for lo, hi, script in _RANGES:
        if lo <= o <= hi:
            return script if ch.isalpha() else None
        if o < lo:
            break
    return _OTHER if ch.isalpha() else None


class _ScriptTable(dict[int, str | None]):
    """``str.translate`` table: each letter becomes its script code, the rest is deleted."""

    def __missing__(self, o: int) -> str | None:
        v = _script_of(chr(o))
        if len(self) < _CACHE_MAX:
            self[o] = v
        return v


_SCRIPTS = _ScriptTable()
# one Han/kana/Hangul character carries about as much as a couple of Latin letters
_WEIGHT = {_HAN: 2, _KANA: 2, _HANGUL: 2}
_SCRIPT_LANG = {
    _CYRILLIC: "ru",
    _GREEK: "el",
    _HANGUL: "ko",
    _ARABIC: "ar",
    _DEVANAGARI: "hi",
    _THAI: "th",
    _HEBREW: "he",
}

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the and is are was were of to in it that this you your for with on be at by from or not"
        " do does have has an my me please make draw show picture image photo can how what write"
        " generate create about who which would could should will there their they".split()
    ),
    "es": frozenset(
        "el los las del que en un una por para con es no se lo como pero más mas este esta muy y"
        " al su sus yo tu hay está esta estoy quiero hola gracias dame haz imagen foto sobre"
        " también tambien puedes escribe".split()
    ),
    "fr": frozenset(
        "le les des du et est une que qui pas pour dans ce cette il elle je vous nous avec sur au"
        " aux sont mais ou très tres bonjour merci fais moi mon ma ton peux écris ecris image"
        " photo".split()
    ),
    "de": frozenset(
        "der die das und ist nicht ein eine einen ich du mit zu von den dem sie es auf für fur auch"
        " sich wie bitte mir mich bild zeig zeige oder aber wir ihr schreib schreibe kannst".split()
    ),
    "pt": frozenset(
        "os as do da dos das em um uma para com não nao por mais você voce muito eu ele ela são"
        " sao está esta isso isto obrigado olá ola foto imagem faça faca meu minha escreva".split()
    ),
    "it": frozenset(
        "il lo gli di che un una per non con sono come ma anche questo questa della del nella io"
        " tu lui lei ciao grazie fai mio mia immagine foto scrivi puoi".split()
    ),
}
# order breaks ties between the other languages
_LATIN_LANGS = ("es", "pt", "fr", "it", "de")
_WORD_LANGS: dict[str, tuple[str, ...]] = {}
for _lang in ("en", *_LATIN_LANGS):
    for _word in _STOPWORDS[_lang]:
        _WORD_LANGS[_word] = (*_WORD_LANGS.get(_word, ()), _lang)
_WORD_RE = re.compile(r"[^\W\d_]+")


def _latin_language(text: str) -> str:
    scores = dict.fromkeys(_STOPWORDS, 0)
    words = _WORD_RE.findall(text.casefold())
    get = _WORD_LANGS.get
    for word in words:
        langs = get(word)
        if langs:
            for lang in langs:
                scores[lang] += 1
    best, best_score = "en", scores["en"]
    for lang in _LATIN_LANGS:
        if scores[lang] > best_score:
            best, best_score = lang, scores[lang]
    if best != "en" and best_score < 2 and len(words) > 3:
        return "en"
    return best


def detect_language(text: str) -> str:
    """Return the ISO 639-1 code of ``text``'s language (``und`` when it has no letters)."""
    codes = text.translate(_SCRIPTS)
    if not codes:
        return "und"
    if codes.count(_LATIN) == len(codes):
        return _latin_language(text)
    counts = Counter(codes)
    script = max(counts, key=lambda s: (counts[s] * _WEIGHT.get(s, 1), s == _LATIN))
    if script in (_HAN, _KANA):
        kana = counts.get(_KANA, 0)
        han = counts.get(_HAN, 0)
        # Japanese writes particles and inflections in kana; Chinese borrows at most a stray "の"
        return "ja" if kana and kana * 5 >= han + kana else "zh"
    if script == _LATIN:
        return _latin_language(text)
    if script == _OTHER:
        return "und"
    return _SCRIPT_LANG[script]
