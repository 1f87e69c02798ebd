"""The multilingual lexicon / pattern detector: the fast first layer of content moderation.

Term lists are data, one YAML file per language and category under ``lexicons/<lang>/``
(``sexual__minors.yaml`` for ``sexual/minors``). A file has a provenance header, its
``category`` and ``lang``, weighted ``terms``, ``exceptions`` (benign context phrases that
suppress a term of the same category when they cover it) and optional phrase-level
``patterns``. ``lexicons/README.md`` documents the format; operators add their own files,
in the same layout, through ``LexiconDetector(extra_dirs=...)``.

Matching
    Every term, exception and pattern anchor of every file goes into one Aho–Corasick
    automaton, built lazily once per process (and per set of extra directories). Keys are
    ``squeeze_repeats(normalize(term))``, and a scan runs the automaton once over
    ``squeeze_repeats(item.normalized)``, so leetspeak, spacing tricks and elongation
    ("fuuuck") are handled by the normaliser, not by the lists. On a hit (only then):

    * terms whose first / last character belongs to a space-delimited script get word
      boundaries checked (the neighbour must not be a letter or digit of such a script;
      CJK, kana, Hangul and Thai-like scripts count as boundaries and get substring
      matching); an ``inflect`` term may carry one of the suffixes s, es, ed, ing, er, ers
      (a final "e" may drop before ing/ed/er, a final "y" may become ies/ied), and the first
      word of an ``inflect`` phrase may carry s, es, ed or ing too ("killing him");
    * squeezing merges "boob" with "bob", "ass" with "as" and "rapper" with "raper", so a
      hit is checked against the unsqueezed normalised text: a term's doubled letters must
      be there, and a suffixed stem may not gain a doubled consonant (``_repeats_ok``);
    * a term is dropped when a longer exception of its category covers it ("kill" inside
      "kill the process", "breast" inside "chicken breast", "色图" inside "彩色图片"); an
      exception spelt exactly like a term does not cancel that term;
    * longest match wins: a term inside a longer term of its category is not a second cue
      ("bomb" inside "pipe bomb").

    Patterns (regexes) run only when one of their ``anchors`` occurred, with the ``regex``
    module and a timeout when it is installed and with ``re`` otherwise; the loader refuses
    unbounded quantifiers (``*``, ``+``, ``{n,}``) so a pattern cannot backtrack
    catastrophically under either engine. A pattern hit that overlaps an exception of its
    category is dropped ("how do I kill a" + "python process").

Scoring
    A category's score is the weight of its strongest match, plus 0.05 for every further
    distinct term or pattern of that category, the boost capped at +0.15 and the score at
    0.99. Several weak cues thus nudge a category up (three "weak" 0.55 cues give 0.65) but
    never turn into an explicit-level score the way a noisy-or would (1 - 0.45³ = 0.91).
    Evidence is kept for at most 5 occurrences of one rule and 50 in all.
"""

from __future__ import annotations

import hashlib
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Final

import ahocorasick
import yaml

from aupguard.detectors.base import DetectorError, DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality
from aupguard.policy.taxonomy import load_taxonomy
from aupguard.text.normalize import NormalizedText, normalize, squeeze_repeats

_regex: ModuleType | None
try:  # the `regex` module gives per-search timeouts; `re` is the fallback
    import regex as _regex_module  # type: ignore[import-untyped, import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _regex = None
else:
    _regex = _regex_module

__all__ = ["LexiconDetector", "LexiconError"]

BUILTIN_DIR: Final = Path(__file__).with_name("lexicons")
PATTERN_TIMEOUT_S: Final = 0.05
EXTRA_TERM_BOOST: Final = 0.05
MAX_BOOST: Final = 0.15
MAX_SCORE: Final = 0.99
MAX_EVIDENCE_PER_RULE: Final = 5
MAX_EVIDENCE: Final = 50

_SUFFIXES: Final = ("s", "es", "ed", "ing", "er", "ers")
_SUFFIXES_AFTER_E: Final = ("s", "d", "r", "rs")
_FILE_KEYS: Final = frozenset(
    {
        "provenance",
        "license",
        "notes",
        "category",
        "lang",
        "inflect",
        "terms",
        "exceptions",
        "patterns",
    }
)
_TERM_KEYS: Final = frozenset({"weight", "inflect", "note"})
_PATTERN_KEYS: Final = frozenset({"id", "regex", "weight", "anchors", "view", "note"})


class LexiconError(DetectorError, ValueError):
    """A term file is malformed. The message starts with ``file:line:column``."""

    def __init__(self, path: Path | str, line: int | None, message: str, column: int | None = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        where = str(path) if line is None else f"{path}:{line}" + (f":{column}" if column else "")
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- character classes


def _is_unspaced(ch: str) -> bool:
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


def _is_word(ch: str) -> bool:
    """A letter or digit of a space-delimited script (what a word boundary must not touch)."""
    return ch.isalnum() and not _is_unspaced(ch)


# --------------------------------------------------------------------------- compiled entries


@dataclass(frozen=True, slots=True)
class _Term:
    category: str
    weight: float
    rule: str
    term: str  # as written in the file
    length: int  # length of the automaton key (the squeezed stem)
    check_left: bool
    check_right: bool
    bare_ok: bool  # the stem may end the word without a suffix
    suffixes: tuple[str, ...]
    runs: tuple[tuple[str, int], ...]  # run-length form of the folded (unsqueezed) stem
    doubled: bool  # the term has doubled letters that squeezing merged ("boob", "ass")
    single_last: bool  # an e-dropping stem: its last letter must not be doubled ("rapper")


@dataclass(frozen=True, slots=True)
class _Exception:
    category: str
    length: int
    check_left: bool
    check_right: bool


@dataclass(frozen=True, slots=True)
class _Anchor:
    pattern: int  # index into _Lexicon.patterns


@dataclass(frozen=True, slots=True)
class _Pattern:
    category: str
    weight: float
    rule: str
    id: str
    compiled: Any  # regex.Pattern or re.Pattern
    on_original: bool
    anchored: bool


_Entry = _Term | _Exception | _Anchor


@dataclass(frozen=True, slots=True)
class _Lexicon:
    automaton: Any  # ahocorasick.Automaton (untyped) or None when empty
    patterns: tuple[_Pattern, ...]
    unanchored: tuple[int, ...]
    exception_categories: frozenset[str]
    categories: frozenset[str]
    counts: dict[tuple[str, str], tuple[int, int, int]]  # (lang, category) -> terms, exc, pats
    fingerprint: str


@dataclass(slots=True)
class _Hit:
    category: str
    weight: float
    rule: str
    start: int  # squeezed-view offsets of the stem (terms)
    stem_end: int
    end: int  # with the suffix
    detail: str
    original: tuple[int, int] | None = None  # a pattern's span, already in the original


# --------------------------------------------------------------------------- key helpers


def _fold(text: str) -> tuple[str, str]:
    nt = normalize(text)
    return nt.text, squeeze_repeats(nt).text


def _runs(text: str) -> tuple[tuple[str, int], ...]:
    out: list[tuple[str, int]] = []
    for ch in text:
        if out and out[-1][0] == ch:
            out[-1] = (ch, out[-1][1] + 1)
        else:
            out.append((ch, 1))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class _Variant:
    key: str  # automaton key (squeezed)
    folded: str  # the same form unsqueezed, for the repeated-letter checks
    bare_ok: bool
    suffixes: tuple[str, ...]
    single_last: bool


def _head_forms(head: str) -> list[str]:
    """Inflected forms of the first word of a phrase ("kill him" -> "killing him")."""
    forms = [head + "s", head + "ed", head + "ing", head + "es"]
    if head.endswith("e"):
        forms += [head + "d", head[:-1] + "ing"]
    elif head.endswith("y"):
        forms += [head[:-1] + "ies", head[:-1] + "ied"]
    return forms


def _variants(key: str, folded: str, inflect: bool) -> list[_Variant]:
    """The automaton keys of one term: itself, with ``inflect`` its e-dropping or y-changing
    stem, and for a phrase the inflected forms of its first word."""
    if not inflect or not key[-1:].isalpha() or _is_unspaced(key[-1]):
        return [_Variant(key, folded, True, (), False)]
    if key.endswith("e") and len(key) > 2:
        out = [
            _Variant(key, folded, True, _SUFFIXES_AFTER_E, False),
            _Variant(key[:-1], folded[:-1], False, ("ing", "ed", "er", "ers"), key[-2] != "i"),
        ]
    elif key.endswith("y") and len(key) > 2:
        out = [
            _Variant(key, folded, True, _SUFFIXES, False),
            _Variant(key[:-1], folded[:-1], False, ("ies", "ied"), False),
        ]
    else:
        out = [_Variant(key, folded, True, _SUFFIXES, False)]
    head, sep, rest = key.partition(" ")
    fhead, fsep, frest = folded.partition(" ")
    if sep and fsep and len(head) > 1 and head.isalpha() and not any(map(_is_unspaced, head)):
        tail_suffixes = out[0].suffixes
        keys = {v.key for v in out}
        for form, fform in zip(_head_forms(head), _head_forms(fhead), strict=True):
            vkey = f"{form} {rest}"
            if vkey not in keys:
                keys.add(vkey)
                out.append(_Variant(vkey, f"{fform} {frest}", True, tail_suffixes, False))
    return out


_UNBOUNDED_BRACE = re.compile(r"\{\s*\d*\s*,\s*\}")


def _unbounded_quantifier(pattern: str) -> str | None:
    """The first unbounded quantifier (``*``, ``+``, ``{n,}``) outside a class, if any."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "]":
                i += 1  # a literal "]" right after "["
        elif ch in "*+":
            return ch
        elif ch == "{":
            m = _UNBOUNDED_BRACE.match(pattern, i)
            if m:
                return m.group(0)
        i += 1
    return None


# --------------------------------------------------------------------------- loading


@dataclass(slots=True)
class _Builder:
    taxonomy_ids: frozenset[str]
    keys: dict[str, list[_Entry]]
    patterns: list[_Pattern]
    exception_categories: set[str]
    categories: set[str]
    counts: dict[tuple[str, str], tuple[int, int, int]]
    digest: Any

    def add_key(self, key: str, entry: _Entry) -> None:
        self.keys.setdefault(key, []).append(entry)


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "mapping"
    return "list" if isinstance(node, yaml.SequenceNode) else "scalar"


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _FileLoader:
    def __init__(self, path: Path, label: str, builder: _Builder):
        self.path = path
        self.label = label  # "<lang>/<file name>"
        self.b = builder

    def error(self, node: yaml.Node | None, message: str) -> LexiconError:
        if node is None:
            return LexiconError(self.path, None, message)
        line, col = _mark(node)
        return LexiconError(self.path, line, message, col)

    def scalar(self, node: yaml.Node, loader: yaml.SafeLoader, what: str) -> object:
        if not isinstance(node, yaml.ScalarNode):
            raise self.error(node, f"{what} must be a scalar, not a {_kind(node)}")
        return loader.construct_object(node)

    def string(self, node: yaml.Node, loader: yaml.SafeLoader, what: str) -> str:
        value = self.scalar(node, loader, what)
        if not isinstance(value, str) or not value.strip():
            raise self.error(node, f"{what} must be a non-empty string, got {value!r}")
        return value.strip()

    def weight(self, node: yaml.Node, loader: yaml.SafeLoader, what: str) -> float:
        value = self.scalar(node, loader, what)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, f"{what} must be a number in [0, 1], got {value!r}")
        if not 0.0 <= float(value) <= 1.0:
            raise self.error(node, f"{what} must be in [0, 1], got {value!r}")
        return float(value)

    def boolean(self, node: yaml.Node, loader: yaml.SafeLoader, what: str) -> bool:
        value = self.scalar(node, loader, what)
        if not isinstance(value, bool):
            raise self.error(node, f"{what} must be true or false, got {value!r}")
        return value

    def mapping(
        self, node: yaml.Node, loader: yaml.SafeLoader, what: str, allowed: frozenset[str] | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, f"{what} must be a mapping, not a {_kind(node)}")
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for knode, vnode in node.value:
            key = self.scalar(knode, loader, f"a key of {what}")
            if not isinstance(key, str):
                raise self.error(knode, f"a key of {what} must be a string (quote {key!r})")
            if allowed is not None and key not in allowed:
                raise self.error(
                    knode, f"unknown key {key!r} in {what} (expected one of {sorted(allowed)})"
                )
            if key in out:
                raise self.error(knode, f"duplicate key {key!r} in {what}")
            out[key] = (knode, vnode)
        return out

    def load(self) -> None:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise LexiconError(self.path, None, f"cannot read term file: {exc}") from exc
        self.b.digest.update(self.label.encode() + b"\0" + raw.encode() + b"\0")
        loader = yaml.SafeLoader(raw)
        try:
            root = loader.get_single_node()
            if root is None:
                raise LexiconError(self.path, None, "empty term file")
            self._load_root(root, loader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            col = mark.column + 1 if mark else None
            raise LexiconError(self.path, line, f"invalid YAML: {exc.problem}", col) from exc
        except yaml.YAMLError as exc:
            raise LexiconError(self.path, None, f"invalid YAML: {exc}") from exc
        finally:
            loader.dispose()

    def _load_root(self, root: yaml.Node, loader: yaml.SafeLoader) -> None:
        top = self.mapping(root, loader, "the file", _FILE_KEYS)
        for required in ("provenance", "category", "lang"):
            if required not in top:
                raise self.error(root, f"missing required key {required!r}")
        self.string(top["provenance"][1], loader, "provenance")
        cnode = top["category"][1]
        category = self.string(cnode, loader, "category")
        if category not in self.b.taxonomy_ids:
            raise self.error(cnode, f"unknown category {category!r} (not in the taxonomy)")
        expected_stem = category.replace("/", "__")
        if self.path.stem != expected_stem:
            raise self.error(
                cnode, f"category {category!r} belongs in a file named {expected_stem}.yaml"
            )
        lnode = top["lang"][1]
        lang = self.string(lnode, loader, "lang")
        if self.path.parent.name != lang:
            raise self.error(
                lnode, f"lang {lang!r} does not match the directory {self.path.parent.name!r}"
            )
        inflect_default = (
            self.boolean(top["inflect"][1], loader, "inflect") if "inflect" in top else False
        )
        n_terms = self._load_terms(top, loader, category, inflect_default)
        n_exc = self._load_exceptions(top, loader, category)
        n_pat = self._load_patterns(top, loader, category)
        if n_terms + n_pat == 0:
            raise self.error(root, "a term file needs at least one term or pattern")
        self.b.categories.add(category)
        old = self.b.counts.get((lang, category), (0, 0, 0))
        self.b.counts[(lang, category)] = (old[0] + n_terms, old[1] + n_exc, old[2] + n_pat)

    def _load_terms(
        self,
        top: dict[str, tuple[yaml.Node, yaml.Node]],
        loader: yaml.SafeLoader,
        category: str,
        inflect_default: bool,
    ) -> int:
        if "terms" not in top:
            return 0
        terms = self.mapping(top["terms"][1], loader, "terms", None)
        seen: dict[str, str] = {}
        for term, (knode, vnode) in terms.items():
            inflect = inflect_default
            if isinstance(vnode, yaml.MappingNode):
                opts = self.mapping(vnode, loader, f"term {term!r}", _TERM_KEYS)
                if "weight" not in opts:
                    raise self.error(vnode, f"term {term!r} has no weight")
                weight = self.weight(opts["weight"][1], loader, f"the weight of {term!r}")
                if "inflect" in opts:
                    inflect = self.boolean(opts["inflect"][1], loader, f"inflect of {term!r}")
            else:
                weight = self.weight(vnode, loader, f"the weight of {term!r}")
            folded, key = _fold(term.strip())
            if not key.strip():
                raise self.error(knode, f"term {term!r} is empty once normalised")
            if key in seen:
                raise self.error(knode, f"term {term!r} duplicates {seen[key]!r} once normalised")
            seen[key] = term
            rule = f"{self.label}:{term}"
            for v in _variants(key, folded, inflect):
                runs = _runs(v.folded)
                self.b.add_key(
                    v.key,
                    _Term(
                        category=category,
                        weight=weight,
                        rule=rule,
                        term=term,
                        length=len(v.key),
                        check_left=_is_word(v.key[0]),
                        check_right=_is_word(v.key[-1]),
                        bare_ok=v.bare_ok,
                        suffixes=v.suffixes,
                        runs=runs,
                        doubled=len(runs) != len(v.folded),
                        single_last=v.single_last,
                    ),
                )
        return len(terms)

    def _load_exceptions(
        self, top: dict[str, tuple[yaml.Node, yaml.Node]], loader: yaml.SafeLoader, category: str
    ) -> int:
        if "exceptions" not in top:
            return 0
        node = top["exceptions"][1]
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "exceptions must be a list of phrases")
        for item in node.value:
            phrase = self.string(item, loader, "an exception")
            _, key = _fold(phrase)
            if not key.strip():
                raise self.error(item, f"exception {phrase!r} is empty once normalised")
            self.b.add_key(
                key,
                _Exception(
                    category=category,
                    length=len(key),
                    check_left=_is_word(key[0]),
                    check_right=_is_word(key[-1]),
                ),
            )
        if node.value:
            self.b.exception_categories.add(category)
        return len(node.value)

    def _load_patterns(
        self, top: dict[str, tuple[yaml.Node, yaml.Node]], loader: yaml.SafeLoader, category: str
    ) -> int:
        if "patterns" not in top:
            return 0
        node = top["patterns"][1]
        if not isinstance(node, yaml.SequenceNode):
            raise self.error(node, "patterns must be a list")
        ids: set[str] = set()
        for item in node.value:
            spec = self.mapping(item, loader, "a pattern", _PATTERN_KEYS)
            for required in ("id", "regex", "weight"):
                if required not in spec:
                    raise self.error(item, f"pattern is missing {required!r}")
            pid = self.string(spec["id"][1], loader, "pattern id")
            if pid in ids:
                raise self.error(spec["id"][1], f"duplicate pattern id {pid!r}")
            ids.add(pid)
            rnode = spec["regex"][1]
            source = self.string(rnode, loader, f"the regex of pattern {pid!r}")
            bad = _unbounded_quantifier(source)
            if bad is not None:
                raise self.error(
                    rnode,
                    f"pattern {pid!r} uses the unbounded quantifier {bad!r}; "
                    "use a bounded one such as {0,30}",
                )
            try:
                compiled: Any = (
                    _regex.compile(source, _regex.IGNORECASE | _regex.V0)
                    if _regex is not None
                    else re.compile(source, re.IGNORECASE)
                )
            except Exception as exc:  # regex.error / re.error
                raise self.error(rnode, f"pattern {pid!r} does not compile: {exc}") from exc
            weight = self.weight(spec["weight"][1], loader, f"the weight of pattern {pid!r}")
            view = "normalized"
            if "view" in spec:
                view = self.string(spec["view"][1], loader, f"`view` of pattern {pid!r}")
                if view not in ("normalized", "original"):
                    raise self.error(spec["view"][1], "`view` must be 'normalized' or 'original'")
            anchors: list[str] = []
            if "anchors" in spec:
                anode = spec["anchors"][1]
                if not isinstance(anode, yaml.SequenceNode) or not anode.value:
                    raise self.error(anode, "anchors must be a non-empty list of phrases")
                anchors = [self.string(a, loader, "an anchor") for a in anode.value]
            index = len(self.b.patterns)
            self.b.patterns.append(
                _Pattern(
                    category=category,
                    weight=weight,
                    rule=f"{self.label}:/{pid}",
                    id=pid,
                    compiled=compiled,
                    on_original=view == "original",
                    anchored=bool(anchors),
                )
            )
            for anchor in anchors:
                _, key = _fold(anchor)
                if key.strip():
                    self.b.add_key(key, _Anchor(index))
        return len(node.value)


def _term_files(directory: Path) -> Iterator[Path]:
    yield from sorted(directory.glob("*/*.yaml"))


def _build(dirs: Sequence[Path]) -> _Lexicon:
    builder = _Builder(
        taxonomy_ids=frozenset(load_taxonomy().categories),
        keys={},
        patterns=[],
        exception_categories=set(),
        categories=set(),
        counts={},
        digest=hashlib.sha256(),
    )
    for directory in dirs:
        if not directory.is_dir():
            raise LexiconError(directory, None, "lexicon directory does not exist")
        for path in _term_files(directory):
            label = f"{path.parent.name}/{path.name}"
            _FileLoader(path, label, builder).load()
    automaton: Any = None
    if builder.keys:
        automaton = ahocorasick.Automaton()
        for key, entries in builder.keys.items():
            automaton.add_word(key, tuple(entries))
        automaton.make_automaton()
    return _Lexicon(
        automaton=automaton,
        patterns=tuple(builder.patterns),
        unanchored=tuple(i for i, p in enumerate(builder.patterns) if not p.anchored),
        exception_categories=frozenset(builder.exception_categories),
        categories=frozenset(builder.categories),
        counts=dict(builder.counts),
        fingerprint=builder.digest.hexdigest()[:12],
    )


def _builtin_categories() -> frozenset[str]:
    return frozenset(p.stem.replace("__", "/") for p in _term_files(BUILTIN_DIR))


# --------------------------------------------------------------------------- matching


def _right_end(text: str, end: int, entry: _Term) -> int:
    """Where the matched word ends (after an allowed suffix), or -1 if it runs on."""
    n = len(text)
    if entry.bare_ok and (end >= n or not _is_word(text[end])):
        return end
    for suffix in entry.suffixes:
        if text.startswith(suffix, end):
            e = end + len(suffix)
            if e >= n or not _is_word(text[e]):
                return e
    return -1


def _exception_right_end(text: str, end: int) -> int:
    n = len(text)
    if end >= n or not _is_word(text[end]):
        return end
    for suffix in _SUFFIXES:
        if text.startswith(suffix, end):
            e = end + len(suffix)
            if e >= n or not _is_word(text[e]):
                return e
    return -1


_VOWELS: Final = frozenset("aeiouy")


def _repeats_ok(
    full: NormalizedText,
    view: NormalizedText,
    start: int,
    stem_end: int,
    term: _Term,
    suffixed: bool,
) -> bool:
    """Squeezing merged doubled letters; check them on the unsqueezed normalised text.

    * A term spelt with doubled letters needs at least those doubles (``bob`` is not
      ``boob``, ``as`` is not ``ass``).
    * A stem followed by a suffix may not gain a doubled consonant inside it (``rapper`` is
      not ``rape`` + ``r``); doubling its last letter is ordinary English (``stabbed``) and
      stretched vowels are ordinary obfuscation (``fuuuck``).
    * An e-dropping stem may not end in a doubled letter (``rapping`` is not ``rape``).

    Where the unsqueezed text does not line up with the term letter for letter (the
    normaliser rewrote something), the hit stands.
    """
    o_start = view.offsets[start]
    o_end = view.offsets[stem_end]
    n = len(full.text)
    j0 = bisect_left(full.offsets, o_start, 0, n)
    j1 = bisect_left(full.offsets, o_end, j0, n)
    runs = _runs(full.text[j0:j1])
    want = term.runs
    if len(runs) != len(want):
        return True
    last = len(runs) - 1
    for i, ((ch, count), (want_ch, want_count)) in enumerate(zip(runs, want, strict=True)):
        if ch != want_ch:
            return True
        if count < min(want_count, 2):
            return False
        if count > want_count and suffixed:
            if i == last:
                if term.single_last:
                    return False
            elif ch not in _VOWELS and ch.isalpha():
                return False
    return True


def _drop_excepted(hits: list[_Hit], exceptions: list[tuple[str, int, int]]) -> list[_Hit]:
    """Drop hits whose stem lies inside a longer exception phrase of the same category.

    An exception spelt exactly like a term does not cancel that term (``sex education`` may
    be a weak term while it also shields ``sex``)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for category, s, e in exceptions:
        spans.setdefault(category, []).append((s, e))
    index: dict[str, tuple[list[tuple[int, int]], list[int]]] = {}
    for category, lst in spans.items():
        lst.sort()
        prefix: list[int] = []
        top = -1
        for _, e in lst:
            top = max(top, e)
            prefix.append(top)
        index[category] = (lst, prefix)
    kept: list[_Hit] = []
    for h in hits:
        found = index.get(h.category)
        if found is not None:
            lst, prefix = found
            before = bisect_left(lst, (h.start, -1))  # exceptions starting before the stem
            upto = bisect_left(lst, (h.start + 1, -1))  # ... or at it
            if (before and prefix[before - 1] >= h.stem_end) or (
                upto and prefix[upto - 1] > h.stem_end
            ):
                continue
        kept.append(h)
    return kept


def _drop_overlapping(
    hits: list[_Hit], exceptions: list[tuple[str, int, int]], view: NormalizedText
) -> list[_Hit]:
    """Drop pattern hits that overlap an exception of their category: "how do I kill a"
    is no threat when the sentence goes on "... python process"."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for category, s, e in exceptions:
        spans.setdefault(category, []).append(view.to_original(s, e))
    kept = []
    for h in hits:
        assert h.original is not None
        start, end = h.original
        if not any(s < end and start < e for s, e in spans.get(h.category, ())):
            kept.append(h)
    return kept


def _drop_nested(hits: list[_Hit]) -> list[_Hit]:
    """Longest match wins: a term hit inside a longer hit of its category is not a second,
    distinct cue ("bomb" inside "pipe bomb"); of hits on the same span the heaviest stays."""
    order = sorted(
        range(len(hits)),
        key=lambda i: (hits[i].category, hits[i].start, -hits[i].end, -hits[i].weight),
    )
    drop: set[int] = set()
    category = None
    top_end = -1
    for i in order:
        h = hits[i]
        if h.original is not None:
            continue
        if h.category != category:
            category, top_end = h.category, h.end
        elif h.end <= top_end:
            drop.add(i)
        else:
            top_end = h.end
    return [h for i, h in enumerate(hits) if i not in drop] if drop else hits


class LexiconDetector:
    """Weighted multilingual term lists, exceptions and phrase patterns (see the module doc)."""

    name: ClassVar[str] = "lexicon"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset(
        {Modality.PROMPT, Modality.NEGATIVE_PROMPT, Modality.OUTPUT_TEXT}
    )
    #: every category with a built-in term file (extra directories may add more)
    categories: ClassVar[frozenset[str]] = _builtin_categories()

    _cache: ClassVar[dict[tuple[Path, ...], _Lexicon]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, extra_dirs: Sequence[Path | str] = ()) -> None:
        self._dirs: tuple[Path, ...] = (BUILTIN_DIR, *(Path(d).resolve() for d in extra_dirs))
        self._lexicon: _Lexicon | None = None

    @classmethod
    def clear_cache(cls) -> None:
        """Forget built automata (term files are read again on the next scan)."""
        with cls._lock:
            cls._cache.clear()

    def load(self) -> None:
        """Build the automaton now (it is otherwise built on the first scan); raises
        ``LexiconError`` for a malformed term file."""
        self._get()

    def _get(self) -> _Lexicon:
        lexicon = self._lexicon
        if lexicon is None:
            lexicon = self._cache.get(self._dirs)
            if lexicon is None:
                with self._lock:
                    lexicon = self._cache.get(self._dirs)
                    if lexicon is None:
                        lexicon = _build(self._dirs)
                        self._cache[self._dirs] = lexicon
            self._lexicon = lexicon
        return lexicon

    @property
    def loaded_categories(self) -> frozenset[str]:
        """The categories of every loaded term file, extra directories included."""
        return self._get().categories

    @property
    def fingerprint(self) -> str:
        """A short hash of the loaded term files (changes when any list changes)."""
        return self._get().fingerprint

    def counts(self) -> dict[tuple[str, str], tuple[int, int, int]]:
        """(lang, category) -> (terms, exceptions, patterns) over the loaded files."""
        return dict(self._get().counts)

    def scan(self, item: ScanItem) -> DetectorResult:
        lexicon = self._get()
        full = item.normalized
        view = squeeze_repeats(full)
        hits, anchored, exceptions = self._match_terms(lexicon, full, view)
        if lexicon.patterns:
            found = self._match_patterns(lexicon, item, full, anchored)
            if found and exceptions:
                found = _drop_overlapping(found, exceptions, view)
            hits.extend(found)
        return self._result(item, view, full, hits)

    # -- terms ---------------------------------------------------------------------------

    def _match_terms(
        self, lexicon: _Lexicon, full: NormalizedText, view: NormalizedText
    ) -> tuple[list[_Hit], set[int], list[tuple[str, int, int]]]:
        automaton = lexicon.automaton
        text = view.text
        if automaton is None or not text:
            return [], set(), []
        hits: list[_Hit] = []
        exceptions: list[tuple[str, int, int]] = []
        anchored: set[int] = set()
        for last, entries in automaton.iter(text):
            end = last + 1
            for entry in entries:
                if type(entry) is _Term:
                    start = end - entry.length
                    if entry.check_left and start > 0 and _is_word(text[start - 1]):
                        continue
                    word_end = _right_end(text, end, entry) if entry.check_right else end
                    if word_end < 0:
                        continue
                    suffixed = word_end > end
                    if (entry.doubled or suffixed) and not _repeats_ok(
                        full, view, start, end, entry, suffixed
                    ):
                        continue
                    suffix = text[end:word_end]
                    hits.append(
                        _Hit(
                            entry.category,
                            entry.weight,
                            entry.rule,
                            start,
                            end,
                            word_end,
                            f"term {entry.term!r}" + (f" +{suffix!r}" if suffix else ""),
                        )
                    )
                elif type(entry) is _Exception:
                    start = end - entry.length
                    if entry.check_left and start > 0 and _is_word(text[start - 1]):
                        continue
                    if entry.check_right and _exception_right_end(text, end) < 0:
                        continue
                    exceptions.append((entry.category, start, end))
                else:
                    assert isinstance(entry, _Anchor)
                    anchored.add(entry.pattern)
        if hits and exceptions:
            hits = _drop_excepted(hits, exceptions)
        if len(hits) > 1:
            hits = _drop_nested(hits)
        return hits, anchored, exceptions

    # -- patterns ------------------------------------------------------------------------

    def _match_patterns(
        self, lexicon: _Lexicon, item: ScanItem, full: NormalizedText, anchored: Iterable[int]
    ) -> list[_Hit]:
        out: list[_Hit] = []
        todo = sorted({*anchored, *lexicon.unanchored})
        for index in todo:
            pattern = lexicon.patterns[index]
            subject = item.text if pattern.on_original else full.text
            try:
                if _regex is not None:
                    m = pattern.compiled.search(subject, timeout=PATTERN_TIMEOUT_S)
                else:  # pragma: no cover - depends on the environment
                    m = pattern.compiled.search(subject)
            except TimeoutError:
                continue  # bounded patterns make this unreachable in practice
            if m is None:
                continue
            if pattern.on_original:
                ostart, oend = m.start(), m.end()
            else:
                ostart, oend = full.to_original(m.start(), m.end())
            out.append(
                _Hit(
                    pattern.category,
                    pattern.weight,
                    pattern.rule,
                    0,
                    0,
                    0,
                    f"pattern {pattern.id!r}",
                    (ostart, oend),
                )
            )
        return out

    # -- result --------------------------------------------------------------------------

    def _result(
        self, item: ScanItem, view: NormalizedText, full: NormalizedText, hits: list[_Hit]
    ) -> DetectorResult:
        if not hits:
            return DetectorResult(detector=self.name, version=self.version)
        best: dict[str, dict[str, float]] = {}
        evidence: list[Evidence] = []
        per_rule: dict[str, int] = {}
        original = item.text
        for h in hits:
            rules = best.setdefault(h.category, {})
            if h.weight > rules.get(h.rule, -1.0):
                rules[h.rule] = h.weight
            seen = per_rule.get(h.rule, 0)
            if seen >= MAX_EVIDENCE_PER_RULE or len(evidence) >= MAX_EVIDENCE:
                continue
            per_rule[h.rule] = seen + 1
            if h.original is not None:
                ostart, oend = h.original
            else:
                ostart, oend = view.to_original(h.start, h.end)
            evidence.append(
                Evidence(
                    category=h.category,
                    score=h.weight,
                    start=ostart,
                    end=oend,
                    text=original[ostart:oend],
                    rule=h.rule,
                    detail=h.detail,
                )
            )
        scores: dict[str, float] = {}
        for category, rules in best.items():
            weights = sorted(rules.values(), reverse=True)
            boost = min(MAX_BOOST, EXTRA_TERM_BOOST * (len(weights) - 1))
            scores[category] = round(min(MAX_SCORE, weights[0] + boost), 4)
        matched = sorted(
            ((w, r, c) for c, rules in best.items() for r, w in rules.items()), reverse=True
        )
        listed = ", ".join(f"{c} {r.split(':', 1)[1]!r} ({w:.2f})" for w, r, c in matched[:8])
        more = f", … {len(matched) - 8} more" if len(matched) > 8 else ""
        n = len(matched)
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=scores,
            evidence=tuple(evidence),
            explanation=f"{n} {'term' if n == 1 else 'terms'} matched: {listed}{more}",
        )
