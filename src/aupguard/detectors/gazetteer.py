"""Gazetteers: lists of named things (people, characters, brands) found in one pass.

Shared by the ``real-people`` and ``intellectual-property`` detectors. A gazetteer is data:
YAML or TSV files with a provenance header and one entry per named thing, plus optional
*cue* phrases (context words, exceptions) that the detectors read as context. Operators add
files in the same format (a "protected persons" list, their own brands).

Files
    A YAML file (``*.yaml`` / ``*.yml``) is a mapping with ``provenance`` (required),
    optional ``license`` and ``notes``, and ``entries`` and/or ``cues``:

    * ``entries``: a list of mappings, one per named thing, keys ``id`` (a slug, unique over
      all loaded files), ``name`` (canonical), ``kind`` (the detector's kinds), ``living``
      (a bool; required where the detector says so), optional ``countries``, ``owner``,
      ``aliases`` (distinctive names: full names, transliterations, listed misspellings),
      ``ambiguous`` (names that also mean something else, such as a bare surname:
      weaker evidence), ``contextual`` (ordinary words that name the thing only in context,
      such as "Swift" or "Apple": no evidence without context), ``context`` (phrases that
      make this entry's ambiguous and contextual names count) and ``note``. The canonical
      name is a distinctive alias unless it is listed as ambiguous or contextual.
    * ``cues``: a mapping from a cue group (the detector's groups) to a list of phrases.
      The group ``exceptions`` is shared: a name inside a longer exception phrase does not
      count ("trump card", "amazon river", "四川普通话").

    A TSV file (``*.tsv``, for bulk operator lists) starts with ``#`` comment lines, one of
    them ``# provenance: ...``, then a header row naming its columns (``id``, ``name`` and
    ``kind`` required; any of ``living``, ``countries``, ``owner``, ``aliases``,
    ``ambiguous``, ``contextual``, ``context``, ``note``), then one entry per row, list
    cells separated by ``|``.

    Errors (``GazetteerError``) start with ``file:line`` (and ``:column`` for YAML).

Matching
    Every name and cue phrase is folded the way the scanned text is, ``normalize`` then
    squeezing repeated letters (``squeeze_latin``: as ``squeeze_repeats``, but never inside
    CJK text, where "霉霉" is not "霉"), then mapping hyphens, underscores and middle dots to
    spaces and curly apostrophes to straight ones (one for one, so offsets stay exact). A
    multi-word Latin name also gets its joined form ("taylorswift", "spiderman"). All keys of
    all files go into one Aho–Corasick automaton, built lazily once per process for a set of
    files and their modification times (``load_gazetteer``; ``force=True`` re-reads them).

    ``Gazetteer.scan(item.normalized)`` runs the automaton once. On a hit, a key that starts
    or ends with a letter or digit of a space-delimited script must sit on word boundaries
    there; CJK, kana, Hangul and Thai-like keys match as substrings. A name spelt with a
    double letter must find it doubled in the text ("Tigger" is not "tiger"; squeezing only
    lets elongation through: "Tiggggger"). Names inside a longer exception phrase are
    dropped, a name inside a longer name is not a second mention ("Trump" inside "Donald
    Trump"), and cue phrases inside a longer cue of their group are one cue. Scanning costs
    one pass over the text whatever the size of the lists; the work beyond that is per hit.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import ahocorasick
import yaml

from aupguard.detectors.base import DetectorError
from aupguard.text.normalize import NormalizedText, normalize

__all__ = [
    "GAZETTEER_DIR",
    "AliasHit",
    "CueHit",
    "Entry",
    "Found",
    "Gazetteer",
    "GazetteerError",
    "Schema",
    "Tier",
    "clear_cache",
    "fold",
    "fold_doubles",
    "gazetteer_files",
    "is_unspaced",
    "is_word",
    "load_gazetteer",
    "scan_view",
    "squeeze_latin",
]

GAZETTEER_DIR: Final = Path(__file__).with_name("gazetteers")
EXCEPTIONS: Final = "exceptions"
FILE_SUFFIXES: Final = (".yaml", ".yml", ".tsv")
MIN_JOINED: Final = 8  # shortest joined form of a multi-word name ("taylorswift")

_YAML_FILE_KEYS: Final = frozenset({"provenance", "license", "notes", "entries", "cues"})
_ENTRY_KEYS: Final = frozenset(
    {
        "id",
        "name",
        "kind",
        "living",
        "countries",
        "owner",
        "aliases",
        "ambiguous",
        "contextual",
        "context",
        "note",
    }
)
_LIST_KEYS: Final = ("countries", "aliases", "ambiguous", "contextual", "context")
_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})
_SEP: Final = str.maketrans({"-": " ", "_": " ", "·": " ", "・": " ", "‧": " ", "’": "'", "‘": "'"})
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class GazetteerError(DetectorError, ValueError):
    """A gazetteer file is malformed. The message starts with ``file:line[:column]``."""

    def __init__(self, path: Path | str, line: int | None, message: str, column: int | None = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        where = str(path) if line is None else f"{path}:{line}" + (f":{column}" if column else "")
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- text


def is_unspaced(ch: str) -> bool:
    """Scripts written without spaces between words: matched as substrings."""
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF  # CJK radicals, kana, CJK unified ideographs
        or 0xAC00 <= o <= 0xD7AF  # Hangul syllables
        or 0xF900 <= o <= 0xFAFF  # CJK compatibility ideographs
        or 0x0E00 <= o <= 0x0EFF  # Thai, Lao
        or 0x1000 <= o <= 0x109F  # Myanmar
        or 0x1780 <= o <= 0x17FF  # Khmer
        or 0x20000 <= o <= 0x3FFFF  # CJK extensions
    )


def is_word(ch: str) -> bool:
    """A letter or digit of a space-delimited script (what a word boundary must not touch)."""
    return ch.isalnum() and not is_unspaced(ch)


_SQUEEZE_RE: Final = re.compile(
    r"((?![\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
    r"\U00020000-\U0003ffff])[^\W\d_])\1+"
)


def squeeze_latin(nt: NormalizedText) -> NormalizedText:
    """Collapse runs of one repeated letter to one (``Bidden`` -> ``biden``) outside CJK and
    the other unspaced scripts; offsets still point into ``nt.original``."""
    text = nt.text
    spans = [(m.start() + 1, m.end()) for m in _SQUEEZE_RE.finditer(text)]
    if not spans:
        return nt
    parts: list[str] = []
    offsets: list[int] = []
    old = nt.offsets
    pos = 0
    for start, end in spans:
        parts.append(text[pos:start])
        offsets.extend(old[pos:start])
        pos = end
    parts.append(text[pos:])
    offsets.extend(old[pos:])  # includes the final len(original)
    return NormalizedText(original=nt.original, text="".join(parts), offsets=tuple(offsets))


def scan_view(normalized: NormalizedText) -> tuple[NormalizedText, str]:
    """The view a gazetteer scans: the squeezed normalised text, and that text with
    separators mapped to spaces (same length, so view offsets apply to both)."""
    view = squeeze_latin(normalized)
    return view, view.text.translate(_SEP)


def fold(text: str) -> str:
    """The automaton key of a name or phrase: folded exactly as scanned text is."""
    return squeeze_latin(normalize(text)).text.translate(_SEP).strip()


def fold_doubles(text: str) -> tuple[str, tuple[int, ...]]:
    """``fold(text)`` and the positions in it of letters that were doubled before squeezing
    ("Tigger" -> ``("tiger", (2,))``): a name spelt with a double letter does not match
    text written with a single one ("tiger" is not "Tigger")."""
    s = normalize(text).text
    parts: list[str] = []
    doubles: list[int] = []
    size = pos = 0
    for m in _SQUEEZE_RE.finditer(s):
        part = s[pos : m.start() + 1]
        parts.append(part)
        size += len(part)
        doubles.append(size - 1)
        pos = m.end()
    parts.append(s[pos:])
    key = "".join(parts).translate(_SEP)
    lead = len(key) - len(key.lstrip())
    key = key.strip()
    return key, tuple(d - lead for d in doubles if 0 <= d - lead < len(key))


def _shift_joined(key: str, doubles: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d - key.count(" ", 0, d) for d in doubles)


def _joined(key: str) -> str | None:
    """The joined form of a multi-word Latin name ("taylor swift" -> "taylorswift")."""
    if " " not in key or any(is_unspaced(c) for c in key):
        return None
    joined = key.replace(" ", "")
    if len(joined) < MIN_JOINED or not joined.isalnum():
        return None
    return joined


# --------------------------------------------------------------------------- data model


class Tier(enum.IntEnum):
    """How strongly a name points at its entry."""

    DISTINCTIVE = 0  # a full name, a transliteration, a listed misspelling
    AMBIGUOUS = 1  # a bare surname or nickname that also names other things
    CONTEXTUAL = 2  # an ordinary word; counts only with context


@dataclass(frozen=True, slots=True)
class Schema:
    """What one detector accepts in its files."""

    name: str  # the detector name, also the cache namespace
    kinds: frozenset[str]
    living_kinds: frozenset[str]  # kinds whose entries must say ``living``
    cue_groups: frozenset[str]  # besides ``exceptions``
    builtin: Path  # the directory of built-in files


@dataclass(frozen=True, slots=True)
class Entry:
    """One named thing."""

    id: str
    name: str
    kind: str
    living: bool | None
    countries: tuple[str, ...]
    owner: str | None
    aliases: tuple[str, ...]
    ambiguous: tuple[str, ...]
    contextual: tuple[str, ...]
    context: tuple[str, ...]
    source: str  # "file:line"


_ALIAS, _CUE, _CONTEXT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Key:
    role: int  # _ALIAS, _CUE or _CONTEXT
    entry: int  # index into Gazetteer.entries (-1 for cues)
    tier: Tier
    group: str  # the cue group ("" otherwise)
    phrase: str  # as written in the file
    length: int
    check_left: bool
    check_right: bool
    doubles: tuple[int, ...] = ()  # key positions that must be doubled letters in the text


@dataclass(frozen=True, slots=True)
class AliasHit:
    """A name found in the scan text (half-open view offsets)."""

    entry: Entry
    alias: str
    tier: Tier
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class CueHit:
    group: str
    phrase: str
    start: int
    end: int


@dataclass(slots=True)
class Found:
    """What one scan found: names, cue phrases by group, entries whose context occurred."""

    aliases: list[AliasHit] = field(default_factory=list)
    cues: dict[str, list[CueHit]] = field(default_factory=dict)
    context: set[str] = field(default_factory=set)

    def has(self, *groups: str) -> bool:
        return any(g in self.cues for g in groups)

    def first(self, *groups: str) -> CueHit | None:
        """The earliest cue of any of ``groups``."""
        hits = [h for g in groups for h in self.cues.get(g, ())]
        return min(hits, key=lambda h: h.start) if hits else None

    def near(self, group: str, start: int, end: int, window: int) -> CueHit | None:
        """A cue of ``group`` within ``window`` characters of the span, if any."""
        for h in self.cues.get(group, ()):
            if h.end > start - window and h.start < end + window:
                return h
        return None


@dataclass(frozen=True, slots=True)
class Gazetteer:
    """Loaded entries and cues of a set of files, compiled into one automaton."""

    schema: str
    entries: tuple[Entry, ...]
    by_id: dict[str, Entry]
    cue_phrases: dict[str, tuple[str, ...]]
    automaton: Any  # ahocorasick.Automaton, or None when nothing was loaded
    files: tuple[Path, ...]
    fingerprint: str
    n_keys: int

    def counts(self) -> dict[str, int]:
        """Entries per kind."""
        out: dict[str, int] = {}
        for e in self.entries:
            out[e.kind] = out.get(e.kind, 0) + 1
        return out

    def scan(self, normalized: NormalizedText) -> tuple[NormalizedText, str, Found]:
        """Names and cues in a normalised text: the view scanned (squeezed, offsets into the
        original), its separator-mapped text, and what was found (view offsets)."""
        view, text = scan_view(normalized)
        return view, text, self._find(text, view, normalized)

    def find(self, text: str) -> Found:
        """Names and cues in a bare string folded like ``fold`` (no doubled-letter checks)."""
        folded = fold(text)
        return self._find(folded, None, None)

    def _find(self, text: str, view: NormalizedText | None, full: NormalizedText | None) -> Found:
        found = Found()
        automaton = self.automaton
        if automaton is None or not text:
            return found
        entries = self.entries
        aliases = found.aliases
        cues = found.cues
        exceptions: list[tuple[int, int]] = []
        n = len(text)
        for last, keys in automaton.iter(text):
            end = last + 1
            for key in keys:
                start = end - key.length
                if key.check_left and start > 0 and is_word(text[start - 1]):
                    continue
                if key.check_right and end < n and is_word(text[end]):
                    continue
                role = key.role
                if role == _ALIAS:
                    if key.doubles and not _doubled(full, view, start, key.doubles):
                        continue
                    aliases.append(AliasHit(entries[key.entry], key.phrase, key.tier, start, end))
                elif role == _CUE:
                    if key.group == EXCEPTIONS:
                        exceptions.append((start, end))
                    else:
                        cues.setdefault(key.group, []).append(
                            CueHit(key.group, key.phrase, start, end)
                        )
                else:
                    found.context.add(entries[key.entry].id)
        if len(aliases) > 1:  # one entry, one span: one hit (the most exact spelling)
            seen: set[tuple[str, int, int]] = set()
            unique: list[AliasHit] = []
            for h in aliases:
                span = (h.entry.id, h.start, h.end)
                if span not in seen:
                    seen.add(span)
                    unique.append(h)
            found.aliases = aliases = unique
        if aliases and exceptions:
            found.aliases = aliases = [
                h
                for h in aliases
                if not any(
                    s <= h.start and h.end <= e and e - s > h.end - h.start for s, e in exceptions
                )
            ]
        if len(aliases) > 1:
            found.aliases = _longest(aliases)
        for group, hits in cues.items():
            if len(hits) > 1:
                cues[group] = _outermost(hits)
        return found


def _doubled(
    full: NormalizedText | None, view: NormalizedText | None, start: int, at: tuple[int, ...]
) -> bool:
    """Whether the view letters at ``start + p`` for ``p`` in ``at`` were doubled letters in
    the unsqueezed normalised text."""
    if full is None or view is None:
        return True
    offsets, text = full.offsets, full.text
    n = len(text)
    for p in at:
        j = bisect_left(offsets, view.offsets[start + p], 0, n)
        if j + 1 >= n or text[j + 1] != text[j]:
            return False
    return True


def _outermost(hits: list[CueHit]) -> list[CueHit]:
    """Cue hits not inside a longer hit of the same group ("to sell" in "t-shirt to sell")."""
    ordered = sorted(hits, key=lambda h: (h.start, -h.end))
    out: list[CueHit] = []
    top = -1
    for h in ordered:
        if h.end <= top:
            continue
        out.append(h)
        top = h.end
    return out


def _longest(hits: list[AliasHit]) -> list[AliasHit]:
    """Drop names inside a strictly longer name; equal spans (two entries) all stay."""
    spans = sorted({(h.start, h.end) for h in hits}, key=lambda s: (s[0], -s[1]))
    keep: set[tuple[int, int]] = set()
    top = -1
    for s, e in spans:
        if e <= top:
            continue  # inside an earlier, longer (or equal-start, longer) span
        keep.add((s, e))
        top = e
    return [h for h in hits if (h.start, h.end) in keep]


# --------------------------------------------------------------------------- loading


def gazetteer_files(schema: Schema, extra: Sequence[Path]) -> tuple[Path, ...]:
    """The built-in files of ``schema`` then the extra files (a directory stands for the
    gazetteer files directly inside it), in a stable order."""
    out: list[Path] = []
    for source in (schema.builtin, *extra):
        if source.is_dir():
            out.extend(sorted(p for p in source.iterdir() if p.suffix in FILE_SUFFIXES))
        elif source.is_file():
            if source.suffix not in FILE_SUFFIXES:
                raise GazetteerError(
                    source, None, f"not a gazetteer file ({'/'.join(FILE_SUFFIXES)})"
                )
            out.append(source)
        else:
            raise GazetteerError(source, None, "gazetteer file does not exist")
    return tuple(out)


@dataclass(slots=True)
class _Raw:
    """An entry as read from a file, before folding."""

    values: dict[str, Any]
    line: int
    column: int | None
    key_lines: dict[str, tuple[int, int | None]]


class _Builder:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.entries: list[Entry] = []
        self.by_id: dict[str, Entry] = {}
        self.keys: dict[str, list[_Key]] = {}
        self.cues: dict[str, list[str]] = {}
        self.digest = hashlib.sha256()

    # -- files ---------------------------------------------------------------------------

    def load(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise GazetteerError(path, None, f"cannot read: {exc}") from exc
        self.digest.update(str(path).encode() + b"\0" + raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise GazetteerError(path, line, "not valid UTF-8") from exc
        if path.suffix == ".tsv":
            self._load_tsv(path, text)
        else:
            self._load_yaml(path, text)

    def _load_yaml(self, path: Path, text: str) -> None:
        try:
            root = yaml.compose(text, Loader=_SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            col = mark.column + 1 if mark is not None else None
            raise GazetteerError(path, line, f"invalid YAML: {exc.problem or exc}", col) from exc
        except yaml.YAMLError as exc:
            raise GazetteerError(path, None, f"invalid YAML: {exc}") from exc
        if root is None:
            raise GazetteerError(path, 1, "empty file (needs provenance and entries or cues)")
        top = _mapping(path, root, "the file", _YAML_FILE_KEYS)
        if "provenance" not in top:
            raise _err(path, root, "missing required key 'provenance'")
        if not _scalar(path, top["provenance"][1], "provenance").strip():
            raise _err(path, top["provenance"][1], "provenance is empty")
        if "entries" not in top and "cues" not in top:
            raise _err(path, root, "a gazetteer file needs 'entries' or 'cues'")
        if "entries" in top:
            node = top["entries"][1]
            if not isinstance(node, yaml.SequenceNode):
                raise _err(path, node, "entries must be a list")
            for item in node.value:
                self._add_entry(path, self._yaml_entry(path, item))
        if "cues" in top:
            self._yaml_cues(path, top["cues"][1])

    def _yaml_entry(self, path: Path, node: yaml.Node) -> _Raw:
        spec = _mapping(path, node, "an entry", _ENTRY_KEYS)
        values: dict[str, Any] = {}
        key_lines: dict[str, tuple[int, int | None]] = {}
        for key, (_, vnode) in spec.items():
            key_lines[key] = (vnode.start_mark.line + 1, vnode.start_mark.column + 1)
            if key in _LIST_KEYS:
                if isinstance(vnode, yaml.ScalarNode) and vnode.tag.endswith(":null"):
                    values[key] = []
                    continue
                if not isinstance(vnode, yaml.SequenceNode):
                    raise _err(path, vnode, f"{key!r} must be a list")
                values[key] = [_scalar(path, v, f"an item of {key!r}") for v in vnode.value]
            elif key == "living":
                if not isinstance(vnode, yaml.ScalarNode) or not vnode.tag.endswith(":bool"):
                    raise _err(path, vnode, "'living' must be true or false")
                values[key] = vnode.value.lower() in _TRUE
            else:
                values[key] = _scalar(path, vnode, repr(key))
        return _Raw(values, node.start_mark.line + 1, node.start_mark.column + 1, key_lines)

    def _yaml_cues(self, path: Path, node: yaml.Node) -> None:
        allowed = self.schema.cue_groups | {EXCEPTIONS}
        groups = _mapping(path, node, "cues", None)
        for group, (knode, vnode) in groups.items():
            if group not in allowed:
                raise _err(
                    path,
                    knode,
                    f"unknown cue group {group!r}; known groups: {', '.join(sorted(allowed))}",
                )
            if not isinstance(vnode, yaml.SequenceNode):
                raise _err(path, vnode, f"cue group {group!r} must be a list of phrases")
            for item in vnode.value:
                phrase = _scalar(path, item, f"a phrase of {group!r}")
                line = item.start_mark.line + 1
                self._add_cue(path, line, item.start_mark.column + 1, group, phrase)

    def _load_tsv(self, path: Path, text: str) -> None:
        header: list[str] | None = None
        provenance = False
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            if line.startswith("#"):
                body = line[1:].strip()
                if body.lower().startswith("provenance:") and body[11:].strip():
                    provenance = True
                continue
            cells = line.split("\t")
            if header is None:
                if not provenance:
                    raise GazetteerError(
                        path, lineno, "missing '# provenance: ...' before the header"
                    )
                header = [c.strip() for c in cells]
                unknown = [c for c in header if c not in _ENTRY_KEYS]
                if unknown:
                    raise GazetteerError(path, lineno, f"unknown column {unknown[0]!r}")
                for required in ("id", "name", "kind"):
                    if required not in header:
                        raise GazetteerError(path, lineno, f"missing column {required!r}")
                if len(set(header)) != len(header):
                    raise GazetteerError(path, lineno, "a column is named twice")
                continue
            if len(cells) > len(header):
                raise GazetteerError(
                    path, lineno, f"{len(cells)} cells but the header has {len(header)} columns"
                )
            values: dict[str, Any] = {}
            for name, cell in zip(header, cells, strict=False):
                cell = cell.strip()
                if not cell:
                    continue
                if name in _LIST_KEYS:
                    values[name] = [c.strip() for c in cell.split("|") if c.strip()]
                elif name == "living":
                    low = cell.lower()
                    if low not in _TRUE | _FALSE:
                        raise GazetteerError(
                            path, lineno, f"'living' must be true or false, not {cell!r}"
                        )
                    values[name] = low in _TRUE
                else:
                    values[name] = cell
            self._add_entry(path, _Raw(values, lineno, None, {}))
        if header is None:
            raise GazetteerError(path, 1, "no header row (and so no entries)")

    # -- entries -------------------------------------------------------------------------

    def _add_entry(self, path: Path, raw: _Raw) -> None:
        v = raw.values
        schema = self.schema

        def fail(message: str, key: str | None = None) -> GazetteerError:
            line, col = raw.key_lines.get(key or "", (raw.line, raw.column))
            return GazetteerError(path, line, message, col)

        for required in ("id", "name", "kind"):
            if required not in v:
                raise fail(f"entry is missing {required!r}")
            if not str(v[required]).strip():
                raise fail(f"{required!r} is empty", required)
        eid = v["id"].strip()
        if not _ID_RE.fullmatch(eid):
            raise fail(f"id {eid!r} must be a lowercase slug (a-z, 0-9, '.', '_', '-')", "id")
        if eid in self.by_id:
            raise fail(f"duplicate id {eid!r} (first defined at {self.by_id[eid].source})", "id")
        kind = v["kind"].strip()
        if kind not in schema.kinds:
            raise fail(
                f"unknown kind {kind!r}; known kinds: {', '.join(sorted(schema.kinds))}", "kind"
            )
        living: bool | None = v.get("living")
        if living is None and kind in schema.living_kinds:
            raise fail(f"entry {eid!r} of kind {kind!r} must say whether the person is living")
        name = v["name"].strip()
        ambiguous = tuple(v.get("ambiguous", ()))
        contextual = tuple(v.get("contextual", ()))
        aliases = tuple(dict.fromkeys((name, *v.get("aliases", ()))))
        if ambiguous or contextual:  # a name listed as weak is not also distinctive
            weak = {fold(a) for a in (*ambiguous, *contextual)}
            aliases = tuple(a for a in aliases if fold(a) not in weak)
        entry = Entry(
            id=eid,
            name=name,
            kind=kind,
            living=living,
            countries=tuple(v.get("countries", ())),
            owner=v.get("owner"),
            aliases=aliases,
            ambiguous=ambiguous,
            contextual=contextual,
            context=tuple(v.get("context", ())),
            source=f"{path}:{raw.line}",
        )
        index = len(self.entries)
        self.entries.append(entry)
        self.by_id[eid] = entry
        seen: set[tuple[str, tuple[int, ...]]] = set()
        for tier, names, key in (
            (Tier.DISTINCTIVE, aliases, "aliases"),
            (Tier.AMBIGUOUS, ambiguous, "ambiguous"),
            (Tier.CONTEXTUAL, contextual, "contextual"),
        ):
            for alias in names:
                folded, doubles = fold_doubles(alias)
                if len(folded) < 2:
                    raise fail(
                        f"name {alias!r} of {eid!r} is shorter than 2 characters once normalised",
                        key,
                    )
                forms = [(folded, doubles)]
                joined = _joined(folded) if tier == Tier.DISTINCTIVE else None
                if joined:
                    # positions after the first space move left by the spaces removed
                    forms.append((joined, _shift_joined(folded, doubles)))
                for form, need in forms:
                    if (form, need) in seen or (form, ()) in seen:
                        continue
                    seen.add((form, need))
                    self._add_key(form, _ALIAS, index, tier, "", alias, need)
        for phrase in entry.context:
            folded = fold(phrase)
            if len(folded) < 2:
                raise fail(f"context phrase {phrase!r} of {eid!r} is too short", "context")
            self._add_key(folded, _CONTEXT, index, Tier.DISTINCTIVE, "", phrase)

    def _add_cue(self, path: Path, line: int, column: int, group: str, phrase: str) -> None:
        folded = fold(phrase)
        if len(folded) < 2:
            raise GazetteerError(
                path, line, f"cue phrase {phrase!r} is too short once normalised", column
            )
        self.cues.setdefault(group, []).append(phrase)
        self._add_key(folded, _CUE, -1, Tier.DISTINCTIVE, group, phrase)

    def _add_key(
        self,
        form: str,
        role: int,
        entry: int,
        tier: Tier,
        group: str,
        phrase: str,
        doubles: tuple[int, ...] = (),
    ) -> None:
        self.keys.setdefault(form, []).append(
            _Key(
                role=role,
                entry=entry,
                tier=tier,
                group=group,
                phrase=phrase,
                length=len(form),
                check_left=is_word(form[0]),
                check_right=is_word(form[-1]),
                doubles=doubles,
            )
        )

    def build(self, files: tuple[Path, ...]) -> Gazetteer:
        automaton: Any = None
        if self.keys:
            automaton = ahocorasick.Automaton()
            for form, keys in self.keys.items():
                # same-key cues of one group are one cue; of one entry's spellings that fold
                # alike ("Harry Potter", "Hary Potter"), the most exact is tried first
                unique = tuple(sorted(dict.fromkeys(keys), key=lambda k: -len(k.doubles)))
                automaton.add_word(form, unique)
            automaton.make_automaton()
        return Gazetteer(
            schema=self.schema.name,
            entries=tuple(self.entries),
            by_id=dict(self.by_id),
            cue_phrases={g: tuple(p) for g, p in self.cues.items()},
            automaton=automaton,
            files=files,
            fingerprint=self.digest.hexdigest()[:12],
            n_keys=len(self.keys),
        )


def _err(path: Path, node: yaml.Node, message: str) -> GazetteerError:
    return GazetteerError(path, node.start_mark.line + 1, message, node.start_mark.column + 1)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a scalar"


def _scalar(path: Path, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _err(path, node, f"{what} must be a string, not {_kind(node)}")
    value: str = node.value
    return value


def _mapping(
    path: Path, node: yaml.Node, what: str, allowed: frozenset[str] | None
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _err(path, node, f"{what} must be a mapping, not {_kind(node)}")
    out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for knode, vnode in node.value:
        key = _scalar(path, knode, "a key")
        if allowed is not None and key not in allowed:
            raise _err(
                path, knode, f"unknown key {key!r} in {what}; allowed: {', '.join(sorted(allowed))}"
            )
        if key in out:
            raise _err(path, knode, f"duplicate key {key!r} in {what}")
        out[key] = (knode, vnode)
    return out


# --------------------------------------------------------------------------- cache


_cache: dict[tuple[str, tuple[Path, ...]], tuple[tuple[tuple[int, int], ...], Gazetteer]] = {}
_lock = threading.Lock()


def _stamp(files: Iterable[Path]) -> tuple[tuple[int, int], ...]:
    out = []
    for path in files:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise GazetteerError(path, None, f"cannot read: {exc}") from exc
        out.append((st.st_mtime_ns, st.st_size))
    return tuple(out)


def load_gazetteer(schema: Schema, extra: Sequence[Path] = (), *, force: bool = False) -> Gazetteer:
    """The gazetteer of ``schema``'s built-in files plus ``extra``, built once per process
    and reused while no file changed (by modification time and size); ``force`` re-reads
    the files whatever their times say. Raises ``GazetteerError`` for a malformed file."""
    files = gazetteer_files(schema, extra)
    key = (schema.name, files)
    stamp = _stamp(files)
    cached = _cache.get(key)
    if cached is not None and cached[0] == stamp and not force:
        return cached[1]
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == stamp and not force:
            return cached[1]
        builder = _Builder(schema)
        for path in files:
            builder.load(path)
        gazetteer = builder.build(files)
        _cache[key] = (stamp, gazetteer)
        return gazetteer


def clear_cache() -> None:
    """Forget every built gazetteer (files are read again on next use)."""
    with _lock:
        _cache.clear()
