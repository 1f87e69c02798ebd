"""Normalise text for matching, keeping an exact map back to the original offsets.

``normalize`` folds away what people use to slip words past filters, in this order:

1. per character: drop invisible characters (zero-width, bidi controls, soft hyphen, tag
   characters, variation selectors, other format and control characters), map every kind of
   whitespace to a space, NFKC, case-fold, strip accents (combining marks after a Latin, Greek,
   Cyrillic or ASCII base; marks after other scripts are kept), fold Latin-script look-alikes
   (small capitals, stroked letters, regional indicators) and Traditional to Simplified Chinese;
2. Cyrillic/Greek look-alikes of Latin letters inside Latin words (``homoglyphs.tsv``);
3. collapse runs of whitespace to one space and strip;
4. drop separators placed between Han characters (``色 情`` -> ``色情``);
5. join runs of three or more single letters split by one kind of separator (``n.u.d.e``,
   ``s 3 x``), when most of them are letters;
6. collapse runs of three or more identical characters to two (``sooooo`` -> ``soo``);
7. leetspeak inside tokens that contain a letter (``leet.tsv``; ``p0rn`` -> ``porn``), then
   collapse the repeats it made.

The join runs before leetspeak so that ``n|u|d|e`` and ``s.3.x`` are read as split words
rather than as one leet token, and its word boundaries agree with the leet tokens, so folding
leetspeak cannot turn a rejected run into an accepted one on a second pass.

Every step only deletes characters or replaces them one for one, so ``offsets`` stays exact.
``normalize`` is idempotent: step 2 depends on context, and when a later step could change its
decision the pipeline is run again on its own output until it stops changing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

__all__ = ["NormalizedText", "normalize", "squeeze_repeats"]

# offsets while the pipeline runs: None means the identity map (nothing deleted so far)
_Off = list[int] | None


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """``text`` is the folded form; ``offsets[i]`` is the index in ``original`` where the
    character ``text[i]`` came from; ``offsets`` has one extra entry, ``len(original)``."""

    original: str
    text: str
    offsets: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of ``text`` to the half-open span of ``original`` that covers
        every original character that produced ``text[start:end]``: the characters dropped
        inside it (the dots of ``n.u.d.e``, zero-width characters), the accents after its last
        letter and the tail of a collapsed run of repeats, but not the separators or spaces
        dropped after it."""
        offsets = self.offsets
        if start >= end:
            o = offsets[start]
            return o, o
        ostart = offsets[start]
        last = offsets[end - 1]
        oend = offsets[end]
        if oend <= last:
            return ostart, last + 1
        original = self.original
        last_char = original[last]
        while oend > last + 1:
            ch = original[oend - 1]
            if ch == last_char or unicodedata.category(ch)[0] not in "ZCPS":
                break
            oend -= 1
        return ostart, oend


# --------------------------------------------------------------------------- data tables


def _data_rows(name: str) -> Iterator[list[str]]:
    raw = (resources.files("aupguard.text") / "data" / name).read_text(encoding="utf-8")
    for line in raw.splitlines():
        if line and not line.startswith("#"):
            yield line.split("\t")


def _load_homoglyphs() -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, str]]:
    tables: dict[str, dict[str, str]] = {"always": {}, "strong": {}, "rare": {}, "weak": {}}
    upper: dict[str, str] = {}
    before_vowel: dict[str, str] = {}
    for cp, _char, latin, up, scope, _name in _data_rows("homoglyphs.tsv"):
        ch = chr(int(cp.removeprefix("U+"), 16))
        latin, _, alt = latin.partition("/")
        tables[scope][ch] = latin
        if alt:
            before_vowel[ch] = alt
        if up != "-":
            upper[ch] = up
    return tables, upper, before_vowel


def _load_t2s() -> dict[str, str]:
    return {cols[0]: cols[1] for cols in _data_rows("t2s.tsv")}


def _load_leet() -> tuple[dict[str, str], dict[str, str]]:
    anywhere: dict[str, str] = {}
    interior: dict[str, str] = {}
    for cols in _data_rows("leet.tsv"):
        (anywhere if cols[2] == "any" else interior)[cols[0]] = cols[1]
    return anywhere, interior


def _load_leet_keep() -> frozenset[str]:
    return frozenset(cols[0].strip() for cols in _data_rows("leet_keep.txt"))


_HOMOGLYPHS, _UPPER, _BEFORE_VOWEL = _load_homoglyphs()
_ALWAYS = _HOMOGLYPHS["always"]
_STRONG = frozenset({*_HOMOGLYPHS["strong"], *_HOMOGLYPHS["rare"]})
_RARE = frozenset(_HOMOGLYPHS["rare"])
_CONTEXT = {**_HOMOGLYPHS["strong"], **_HOMOGLYPHS["rare"], **_HOMOGLYPHS["weak"]}
_CONTEXT_TABLE = str.maketrans(_CONTEXT)
T2S: dict[str, str] = _load_t2s()
"""The Traditional -> Simplified Chinese character map (from OpenCC, see ``data/t2s.tsv``)."""
_LEET_ANY, _LEET_INTERIOR = _load_leet()
_LEET_KEEP = _load_leet_keep()

# --------------------------------------------------------------------------- step 1: characters

# invisible characters that are not in a format (Cf) or control (Cc) category
# (combining grapheme joiner, Hangul fillers, Khmer inherent vowels, Mongolian free variation
# selectors, braille blank, variation selectors)
_DROP_EXTRA = frozenset(
    [
        *(0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F),
        *(0x2800, 0x3164, 0xFFA0),
        *range(0xFE00, 0xFE10),
        *range(0xE0100, 0xE01F0),
    ]
)
_CACHE_MAX = 50_000


def _is_mark(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "M"


def _strips_marks(ch: str) -> bool:
    """Whether combining marks after this (base) character are accents to strip: ASCII,
    Latin, Greek and Cyrillic. Marks after other scripts (Devanagari, Thai, ...) are kept."""
    o = ord(ch)
    return (
        o < 0x0530
        or 0x1C80 <= o < 0x1C90
        or 0x1D00 <= o < 0x1DC0
        or 0x1E00 <= o < 0x2000
        or 0x2C60 <= o < 0x2C80
        or 0xA640 <= o < 0xA6A0
        or 0xA720 <= o < 0xA800
        or 0xAB30 <= o < 0xAB70
        or 0xFB00 <= o < 0xFB07
    )


def _is_dropped(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat in ("Cf", "Cs", "Cc") or ord(ch) in _DROP_EXTRA


def _strip_accents(s: str) -> str:
    """Remove marks whose base (the last non-mark before them in ``s``) strips marks.
    Marks at the start of ``s`` have no base here and are kept (the caller decides)."""
    out: list[str] = []
    strip: bool | None = None
    for ch in s:
        if _is_mark(ch):
            if strip:
                continue
        else:
            strip = _strips_marks(ch)
        out.append(ch)
    return "".join(out)


def _fold_one(c: str) -> str:
    """One round of the per-character fold."""
    if c.isspace():
        return " "
    always = _ALWAYS.get(c)
    if always is not None:
        return always
    if _is_dropped(c):
        return ""
    r = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", c).casefold())
    d = unicodedata.normalize("NFKD", r)
    stripped = _strip_accents(d)
    if stripped != d:
        r = unicodedata.normalize("NFKC", stripped)
    if r == c:
        return T2S.get(c, c)
    out: list[str] = []
    for ch in r:
        if ch.isspace():
            out.append(" ")
        elif ch in _ALWAYS:
            out.append(_ALWAYS[ch])
        elif not _is_dropped(ch):
            out.append(T2S.get(ch, ch))
    return "".join(out)


_Entry = tuple[str, str, bool]


def _compute_entry(c: str) -> _Entry:
    """Fold ``c`` to a fixed point and split it into (leading marks, rest, whether marks after
    the rest are kept). Leading marks are kept only after a base whose marks are kept."""
    s = _fold_one(c)
    for _ in range(8):
        s2 = _strip_accents("".join(_fold_one(ch) for ch in s))
        if s2 == s:
            break
        s = s2
    i = 0
    while i < len(s) and _is_mark(s[i]):
        i += 1
    lead, rest = s[:i], s[i:]
    keep = False
    for ch in reversed(rest):
        if not _is_mark(ch):
            keep = not _strips_marks(ch)
            break
    return lead, rest, keep


_ENTRIES: dict[str, _Entry] = {}


def _entry(c: str) -> _Entry:
    e = _ENTRIES.get(c)
    if e is None:
        e = _compute_entry(c)
        if len(_ENTRIES) < _CACHE_MAX:
            _ENTRIES[c] = e
    return e


class _NonSimple(dict[int, int | None]):
    """``str.translate`` table keeping only characters that do not fold one to one."""

    def __missing__(self, o: int) -> int | None:
        lead, rest, _ = _entry(chr(o))
        v = None if not lead and len(rest) == 1 else o
        if len(self) < _CACHE_MAX:
            self[o] = v
        return v


class _Simple(dict[int, str]):
    """``str.translate`` table for characters that fold one to one."""

    def __missing__(self, o: int) -> str:
        lead, rest, _ = _entry(chr(o))
        v = rest if not lead and len(rest) == 1 else chr(o)
        if len(self) < _CACHE_MAX:
            self[o] = v
        return v


_NON_SIMPLE = _NonSimple()
_SIMPLE = _Simple()
_ASCII_TABLE: dict[int, str | None] = {o: (_entry(chr(o))[1] or None) for o in range(128)}


def _fold_slow(text: str) -> tuple[str, _Off]:
    out: list[str] = []
    off: list[int] = []
    keep = False
    get = _ENTRIES.get
    for i, c in enumerate(text):
        e = get(c)
        if e is None:
            e = _entry(c)
        lead, rest, k = e
        if lead and keep:
            out.append(lead)
            off.extend([i] * len(lead))
        if rest:
            out.append(rest)
            if len(rest) == 1:
                off.append(i)
            else:
                off.extend([i] * len(rest))
            keep = k
    return "".join(out), off


def _fold_chars(text: str) -> tuple[str, _Off]:
    if text.isascii():
        s = text.translate(_ASCII_TABLE)
        if len(s) == len(text):
            return s, None
        return _fold_slow(text)
    if text.translate(_NON_SIMPLE):
        return _fold_slow(text)
    return text.translate(_SIMPLE), None


# --------------------------------------------------------------------------- edit helpers


def _delete(s: str, off: _Off, ranges: list[tuple[int, int]]) -> tuple[str, list[int]]:
    """Delete the sorted, disjoint half-open ``ranges`` of ``s``, carrying the offsets."""
    base: list[int] | range = range(len(s)) if off is None else off
    parts: list[str] = []
    new_off: list[int] = []
    pos = 0
    for a, b in ranges:
        parts.append(s[pos:a])
        new_off.extend(base[pos:a])
        pos = b
    parts.append(s[pos:])
    new_off.extend(base[pos:])
    return "".join(parts), new_off


def _compose(first: _Off, second: _Off) -> _Off:
    if second is None:
        return first
    if first is None:
        return second
    return [first[k] for k in second]


# --------------------------------------------------------------------------- step 2: homoglyphs

_CONF_RE = re.compile("[" + "".join(re.escape(c) for c in sorted(_CONTEXT)) + "]")
_LATINISH_RE = re.compile(r"[a-z0-9@$]")
_LATIN_LETTER_RE = re.compile(r"[a-z]")
_CG_LETTER_RE = re.compile(r"[\u0370-\u03ff\u0400-\u052f\u1c80-\u1c8f\u1f00-\u1fff\ua640-\ua69f]")
# Words for the homoglyph step are runs of Latin, Greek and Cyrillic letters, digits, marks,
# "_", "@" and "$": other scripts (Han, ...) end a word, so that dropping the separators between
# Han characters later cannot merge two such words.
_LGC_WORD = (
    r"0-9a-z_@$\u00b5\u00c0-\u024f\u0250-\u02af\u0300-\u036f\u0370-\u03ff\u0400-\u052f"
    r"\u1c80-\u1c8f\u1d00-\u1dbf\u1e00-\u1fff\u2de0-\u2dff\ua640-\ua69f\ua720-\ua7ff"
)
# a word holding at least one Latin letter, digit, @ or $ (anchored at word starts: linear)
_LATINISH_WORD_RE = re.compile(rf"(?<![{_LGC_WORD}])[{_LGC_WORD}]*[a-z0-9@$][{_LGC_WORD}]*")
# a whole word made of strong look-alikes only
_STRONG_WORD_RE = re.compile(
    rf"(?<![{_LGC_WORD}])["
    + "".join(re.escape(c) for c in sorted(_STRONG))
    + rf"]+(?![{_LGC_WORD}])"
)


def _fold_spans(s: str, spans: list[tuple[int, int]], source: str, off: _Off) -> str:
    """Fold the look-alikes in ``spans`` of ``s``; ``source[off[i]]`` is the character that
    ``s[i]`` came from, which tells an upper-case look-alike (GREEK CAPITAL NU: N) from its
    lower case (v)."""
    parts: list[str] = []
    pos = 0
    for a, b in spans:
        parts.append(s[pos:a])
        word = s[a:b]
        folded = word.translate(_CONTEXT_TABLE)
        if any(ch in _UPPER or ch in _BEFORE_VOWEL for ch in word):
            chars = list(folded)
            last = len(word) - 1
            for k, ch in enumerate(word):
                up = _UPPER.get(ch)
                if up is not None:
                    src = source[a + k if off is None else off[a + k]]
                    if unicodedata.category(src) == "Lu":
                        chars[k] = up
                        continue
                alt = _BEFORE_VOWEL.get(ch)
                if alt is not None and (k == last or folded[k + 1] in "aeiouy"):
                    chars[k] = alt
            folded = "".join(chars)
        parts.append(folded)
        pos = b
    parts.append(s[pos:])
    return "".join(parts)


def _homoglyphs(s: str, off: _Off, source: str) -> tuple[str, bool]:
    """Fold Cyrillic/Greek look-alikes: inside words that also hold Latin letters or digits;
    whole words made only of strong look-alikes when one of them is a rare letter (``ѕ``) or
    when the text is mostly Latin. Returns the text and whether a later step could change
    this decision (then the pipeline runs again)."""
    if not _CONF_RE.search(s):
        return s, False
    if _LATINISH_RE.search(s):
        mixed = [
            m.span()
            for m in _LATINISH_WORD_RE.finditer(s)
            if not m.group().isascii() and _CONF_RE.search(m.group())
        ]
        if mixed:
            s = _fold_spans(s, mixed, source, off)
    pending: list[tuple[int, int]] = []
    rare: list[tuple[int, int]] = []
    for m in _STRONG_WORD_RE.finditer(s):
        (rare if _RARE.intersection(m.group()) else pending).append(m.span())
    if rare:
        s = _fold_spans(s, rare, source, off)
    if not pending or not _LATIN_LETTER_RE.search(s):
        return s, False
    if len(_LATIN_LETTER_RE.findall(s)) <= len(_CG_LETTER_RE.findall(s)):
        return s, True
    return _fold_spans(s, pending, source, off), False


# --------------------------------------------------------------------------- steps 3-6

_WS_RE = re.compile(r"^ +| +$| {2,}")


def _collapse_ws(s: str, off: _Off) -> tuple[str, _Off]:
    if "  " not in s and not s.startswith(" ") and not s.endswith(" "):
        return s, off
    ranges: list[tuple[int, int]] = []
    n = len(s)
    for m in _WS_RE.finditer(s):
        a, b = m.span()
        ranges.append((a, b) if a == 0 or b == n else (a + 1, b))
    return _delete(s, off, ranges)


_HAN = "\u3005\u3007\u3021-\u3029\u3038-\u303b\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
# separators for the single-letter join (used inside a character class)
_SEP_CHARS = r".\-_*/|·•~+,\\"
# separators dropped between Han characters: the same without the comma, plus the katakana dot
_HAN_SEP_RE = re.compile(rf"(?<=[{_HAN}])[ .\-_*/|·•~+\\・]+(?=[{_HAN}])")


def _han_seps(s: str, off: _Off) -> tuple[str, _Off]:
    ranges = [m.span() for m in _HAN_SEP_RE.finditer(s)]
    if not ranges:
        return s, off
    return _delete(s, off, ranges)


# an element of a run: a letter, or a digit or symbol that leetspeak folds to a letter
_ELEM = "(?:[^\\W\\d_]|[" + "".join(re.escape(c) for c in sorted(_LEET_ANY)) + "])"
# A run starts and ends at a word boundary. A leet symbol that the leet step will turn into a
# letter ("+" in "q+s") glues its neighbours into one word, so it is no boundary either:
# otherwise folding it later could turn a rejected run into an accepted one.
_GLUE = "".join(re.escape(c) for c in sorted(_LEET_INTERIOR))
_WORD_CHARS = "a-z0-9" + "".join(re.escape(c) for c in sorted(_LEET_ANY) if not c.isalnum())
_JOIN_RE = re.compile(
    rf"(?<![\w@$])(?<![{_WORD_CHARS}][{_GLUE}]){_ELEM}"
    rf"(?:(?: {_ELEM}){{2,}}|(?: ?([{_SEP_CHARS}])\1* ?{_ELEM})(?: ?\1+ ?{_ELEM})+)"
    rf"(?![\w@$])(?![{_GLUE}][{_WORD_CHARS}])"
)
_SEP_RUN_RE = re.compile(rf"[ {_SEP_CHARS}]+")
# one-letter words that start a space-separated run of four or more ("a n u d e") stay apart
_ARTICLES = frozenset("ai")


def _join_singles(s: str, off: _Off) -> tuple[str, _Off, bool]:
    """Join ``n.u.d.e``, ``n u d e``, ``k-i-l-l``: runs of three or more single letters (or
    leet digits) split by one kind of separator, when most of them are letters."""
    ranges: list[tuple[int, int]] = []
    confusable = False
    for m in _JOIN_RE.finditer(s):
        start = m.start()
        if m.group(1) is None and s[start] in _ARTICLES and m.end() - start >= 7:
            # "a n u d e woman": a leading one-letter word is most likely just that
            start += 2
        seps = [sm.span() for sm in _SEP_RUN_RE.finditer(s, start, m.end())]
        elems = _SEP_RUN_RE.sub("", s[start : m.end()])
        letters = sum(1 for ch in elems if ch.isalpha())
        if 2 * letters <= len(elems):
            continue
        ranges.extend(seps)
        if not confusable and not elems.isascii() and _CONF_RE.search(elems):
            confusable = True
    if not ranges:
        return s, off, False
    s, new_off = _delete(s, off, ranges)
    return s, new_off, confusable


_REPEAT_RE = re.compile(r"(.)\1\1+", re.DOTALL)


def _collapse_repeats(s: str, off: _Off) -> tuple[str, _Off]:
    ranges = [(m.start() + 2, m.end()) for m in _REPEAT_RE.finditer(s)]
    if not ranges:
        return s, off
    return _delete(s, off, ranges)


# --------------------------------------------------------------------------- step 7: leetspeak

_LEET_KEYS = "".join(re.escape(c) for c in sorted({*_LEET_ANY, *_LEET_INTERIOR}))
_LEET_HINT_RE = re.compile(rf"[a-z][{_LEET_KEYS}]|[{_LEET_KEYS}][a-z]")
# A token: letters, digits and the symbols folded anywhere ("@", "$"), glued together by single
# symbols folded only between two such characters ("k!ll", "ki+ten"); "c++" is no token.
_TOKEN_RE = re.compile(rf"[{_WORD_CHARS}]+(?:[{_GLUE}][{_WORD_CHARS}]+)*")
_HAS_LETTER_RE = re.compile(r"[a-z]")
_UNITS = (
    "st|nd|rd|th|k|d|p|x|s|g|h|m|v|w|am|pm|yo|yr|yrs|mo|wk|hr|hrs|min|sec|ms|px|fps|gb|mb|kb|tb"
    "|hz|mm|cm|km|kg|lb|lbs|ft|in|oz|ml|mph|kph"
)
_LEET_SKIP_RE = re.compile(
    rf"^[0-9]{{2}}|[0-9]{{2}}$|^\$[0-9]|^[a-z]{{1,2}}[0-9]$|^[0-9](?:{_UNITS})$|^[0-9]+x[0-9]+$"
)
_LEET_TABLE = str.maketrans({**_LEET_ANY, **_LEET_INTERIOR})


def _leet_token(tok: str) -> str | None:
    if tok in _LEET_KEEP or not _HAS_LETTER_RE.search(tok) or _LEET_SKIP_RE.search(tok):
        return None
    out = tok.translate(_LEET_TABLE)
    return None if out == tok else out


def _leet(s: str) -> str:
    """Fold leetspeak one for one; returns ``s`` itself when nothing changed."""
    if not _LEET_HINT_RE.search(s):
        return s
    parts: list[str] = []
    pos = 0
    for m in _TOKEN_RE.finditer(s):
        tok = m.group()
        if tok.isalpha() or tok.isdigit():
            continue
        if "@" in tok[1:] and s.startswith(".", m.end()):
            continue  # an e-mail address: user@example.com
        rep = _leet_token(tok)
        if rep is not None:
            parts.append(s[pos : m.start()])
            parts.append(rep)
            pos = m.end()
    if not parts:
        return s
    parts.append(s[pos:])
    return "".join(parts)


# --------------------------------------------------------------------------- pipeline


def _pipeline(text: str) -> tuple[str, _Off, bool]:
    s, off = _fold_chars(text)
    recheck = False
    if not s.isascii():
        s, recheck = _homoglyphs(s, off, text)
    s, off = _collapse_ws(s, off)
    if not s.isascii():
        s, off = _han_seps(s, off)
    s, off, joined_confusable = _join_singles(s, off)
    s, off = _collapse_repeats(s, off)
    folded = _leet(s)
    if folded is not s:
        s, off = _collapse_repeats(folded, off)
    return s, off, recheck or joined_confusable


def normalize(text: str) -> NormalizedText:
    """Fold ``text`` for matching (see the module docstring) with an exact offset map."""
    s, off, recheck = _pipeline(text)
    rounds = 0
    while recheck and rounds < 4:
        s2, off2, recheck = _pipeline(s)
        if s2 == s:
            break
        off = _compose(off, off2)
        s = s2
        rounds += 1
    if off is None:
        offsets = tuple(range(len(s) + 1))
    else:
        off.append(len(text))
        offsets = tuple(off)
    return NormalizedText(original=text, text=s, offsets=offsets)


_SQUEEZE_RE = re.compile(r"([^\W\d_])\1+")


def squeeze_repeats(nt: NormalizedText) -> NormalizedText:
    """Collapse every run of one repeated letter to a single letter (``kiiiill`` -> ``kil``);
    offsets still point into ``nt.original`` (a kept letter maps to the start of its run)."""
    ranges = [(m.start() + 1, m.end()) for m in _SQUEEZE_RE.finditer(nt.text)]
    if not ranges:
        return nt
    s, off = _delete(nt.text, list(nt.offsets[:-1]), ranges)
    off.append(len(nt.original))
    return NormalizedText(original=nt.original, text=s, offsets=tuple(off))
