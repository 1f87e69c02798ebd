"""The circumvention detector: the structural layer for category ``circumvention``.

The lexicon holds single cue phrases ("jailbreak", "去水印"); this detector looks at how a prompt
is built. Four families of signals, each reported as evidence ``circumvention/<family>:<rule>``
with a span of the original text:

Framings (rule files ``circumvention/framings_<lang>.yaml`` and ``combos.yaml``)
    DAN-style personas, instruction override and prompt injection, fake chat delimiters,
    system-prompt extraction, refusal suppression, fiction/hypothetical wrappers around a
    harmful request, payload splitting, decode/translate-then-answer tricks, watermark and
    provenance removal, reverse engineering. A rule has phrases (one Aho–Corasick pass over the
    normalised text, repeated letters squeezed; word boundaries in space-delimited scripts),
    optional regexes (``regex`` module with a timeout, run only when one of the rule's anchors
    occurred, searched near those anchors, bounded quantifiers only), a weight and
    ``requires``: cue groups, families or rules that must match too, optionally ``within`` a
    number of characters of the rule's match (a fiction wrapper counts only next to a harmful
    how-to request). A rule without patterns is a combination ("a role" + "has no rules").
    Text spelt out letter by letter ("i g n o r e ...", glued by the normaliser) is matched
    against the long phrases with spaces removed.

Encoded payloads (decoded from the original text)
    Unicode tag characters (U+E0020–U+E007E, invisible ASCII) and variation-selector bytes,
    URL encoding, ``\\x`` / spaced / long-run hex, 8-bit binary, base64 and base64url (≥ 16
    characters, valid padding, decoding to mostly printable UTF-8), JWT claims, ROT13 and
    Caesar shifts, reversed text (both only when the decoded words are common English words:
    fewer are needed when the prompt says rot13/caesar/reverse), multi-character leetspeak
    (``|\\/|``) and payload splitting (``a = "..."; b = "..."; a + b``). Each payload becomes a
    ``DerivedText`` on the result, so the moderator judges the decoded text with every
    detector, and evidence ``circumvention/encoding:<encoding>``. A payload alone scores about
    0.55 (tag characters 0.8); with an instruction to decode and act on it 0.85; inside a
    programming question ("how do I base64 encode", "what does ... decode to", a JWT) at most
    0.35. Leetspeak that the normaliser folded (two or more ``1gn0re``-style words) is a weak
    0.35 hint.

Text-to-image evasion (``circumvention/t2i.yaml``)
    Prompt weighting around a sensitive word (``(nude:1.4)``, ``((naked))``, ``[nsfw]``,
    ``<lora:...>``) 0.6 in prompts; nonsense tokens standing in for blocked words (no vowels, or
    five consonants in a row, in an otherwise English prompt) 0.4 at most. A negative prompt
    that removes clothing or censoring from a depicted person is judged by
    ``negative_prompt_inversion(prompt, negative_prompt)``, since one item never holds both.

Scoring
    The score is the weight of the strongest rule, plus 0.05 for every further distinct rule
    (encodings count as rules), the boost capped at +0.15 and the score at 0.99 — the same
    combination as the lexicon, so several weak hints nudge a score up without turning into a
    strong one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
import threading
import urllib.parse
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Final

import ahocorasick
import yaml

from aupguard.detectors.base import DerivedText, DetectorError, DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality
from aupguard.text.normalize import NormalizedText, normalize, squeeze_repeats

_regex: ModuleType | None
try:  # the `regex` module gives per-search timeouts; `re` is the fallback
    import regex as _regex_module  # type: ignore[import-untyped, import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the environment
    _regex = None
else:
    _regex = _regex_module

__all__ = [
    "CATEGORY",
    "CircumventionDetector",
    "CircumventionRuleError",
    "negative_prompt_inversion",
]

CATEGORY: Final = "circumvention"
BUILTIN_DIR: Final = Path(__file__).with_name("circumvention")
PATTERN_TIMEOUT_S: Final = 0.05
EXTRA_RULE_BOOST: Final = 0.05
MAX_BOOST: Final = 0.15
MAX_SCORE: Final = 0.99
MAX_HITS_PER_RULE: Final = 3  # evidence items per rule
MAX_HITS_KEPT: Final = 16  # matches kept per rule or cue (for `within`)
MAX_PAYLOADS: Final = 16
REGEX_WINDOW: Final = 400  # a regex runs this many characters either side of its anchors
MAX_ANCHOR_SPOTS: Final = 64
CAESAR_MAX_CHARS: Final = 2000  # 24 trial shifts are tried only on short texts

# weights of the signals computed in code (the rule weights live in the YAML files)
PAYLOAD_WEIGHT: Final = 0.55
INVISIBLE_WEIGHT: Final = 0.8  # tag characters, variation-selector bytes
BENIGN_CONTEXT_CAP: Final = 0.35  # payloads inside a programming question
LINK_WEIGHT: Final = 0.3  # percent-encoding inside a URL
JWT_WEIGHT: Final = 0.2
DATA_URL_WEIGHT: Final = 0.45
MULTI_LEET_WEIGHT: Final = 0.45
LEET_TOKENS_WEIGHT: Final = 0.35
SPLIT_WEIGHT: Final = 0.7
SPLIT_WEAK_WEIGHT: Final = 0.45

VIRTUAL_PAYLOAD: Final = "encoded-payload"
_REQUIRED_CUES: Final = (
    "code-context",
    "answer-cue",
    "rot13-cue",
    "caesar-cue",
    "reverse-cue",
    "harmful-topic",
)
_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_FILE_KEYS: Final = frozenset(
    {"provenance", "license", "notes", "lang", "cues", "rules", "exceptions"}
)
_CUE_KEYS: Final = frozenset({"phrases", "regex", "anchors", "view", "note"})
_RULE_KEYS: Final = frozenset(
    {"id", "family", "weight", "phrases", "regex", "anchors", "view", "requires", "within", "note"}
)
_LINE: Final = "__line__"


class CircumventionRuleError(DetectorError, ValueError):
    """A circumvention rule file is malformed. The message starts with ``file:line``."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path = Path(path)
        self.line = line
        where = str(path) if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {message}")


# --------------------------------------------------------------------------- helpers


def _is_unspaced(ch: str) -> bool:
    """Scripts written without spaces between words (matched as substrings)."""
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF
        or 0xF900 <= o <= 0xFAFF
        or 0x0E00 <= o <= 0x0EFF
        or 0x20000 <= o <= 0x3FFFF
    )


def _is_word(ch: str) -> bool:
    return ch.isalnum() and not _is_unspaced(ch)


def _key(phrase: str) -> str:
    return squeeze_repeats(normalize(phrase)).text


def _preview(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


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
                i += 1
        elif ch in "*+":
            return ch
        elif ch == "{":
            m = _UNBOUNDED_BRACE.match(pattern, i)
            if m:
                return m.group(0)
        i += 1
    return None


def _compile(pattern: str, original: bool) -> Any:
    flags = re.IGNORECASE if original else 0
    if _regex is not None:
        return _regex.compile(pattern, flags | _regex.V0)
    return re.compile(pattern, flags)  # pragma: no cover - depends on the environment


def _search(compiled: Any, text: str, pos: int = 0, endpos: int | None = None) -> Any:
    end = len(text) if endpos is None else endpos
    try:
        if _regex is not None:
            return compiled.search(text, pos, end, timeout=PATTERN_TIMEOUT_S)
        return compiled.search(text, pos, end)  # pragma: no cover - depends on the environment
    except TimeoutError:  # bounded patterns make this unreachable in practice
        return None


# --------------------------------------------------------------------------- loaded data


_PHRASE, _ANCHOR, _EXCEPTION = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Entry:
    owner: str  # rule id or cue name
    kind: int
    length: int
    left: bool
    right: bool


@dataclass(frozen=True, slots=True)
class _Rule:
    id: str
    family: str
    weight: float
    requires: tuple[str, ...]
    combo: bool  # no patterns of its own: fires on `requires` alone
    within: int | None  # required matches must lie this close (characters) to the rule's
    lang: str
    where: str


@dataclass(frozen=True, slots=True)
class _T2I:
    weights: dict[str, float]
    sensitive: tuple[str, ...]  # normalised terms
    person: tuple[str, ...]
    removal: tuple[str, ...]
    not_gibberish: frozenset[str]


@dataclass(frozen=True, slots=True)
class _RuleSet:
    automaton: Any  # ahocorasick.Automaton or None
    glued: Any  # automaton of long phrases with spaces removed, or None
    regexes: dict[str, tuple[Any, ...]]  # owner -> normalised-view regexes
    original: tuple[tuple[str, tuple[str, ...], Any], ...]  # owner, anchors, regex
    rules: dict[str, _Rule]
    combos: tuple[str, ...]
    cues: frozenset[str]
    families: dict[str, tuple[str, ...]]
    t2i: _T2I
    words: frozenset[str]
    fingerprint: str


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records the line of every mapping under ``__line__``."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[_LINE] = node.start_mark.line + 1
        return mapping


@dataclass(slots=True)
class _Builder:
    keys: dict[str, list[_Entry]] = field(default_factory=dict)
    glued: dict[str, list[_Entry]] = field(default_factory=dict)
    regexes: dict[str, list[Any]] = field(default_factory=dict)
    original: list[tuple[str, tuple[str, ...], Any]] = field(default_factory=list)
    rules: dict[str, _Rule] = field(default_factory=dict)
    cues: set[str] = field(default_factory=set)
    requires_at: list[tuple[str, str, str]] = field(default_factory=list)  # name, rule, where

    def add_phrase(self, owner: str, phrase: str, kind: int, glue: bool) -> None:
        variants = {phrase, phrase.replace("'", "’")} if "'" in phrase else {phrase}
        for variant in variants:
            key = _key(variant)
            if not key:
                continue
            entry = _Entry(owner, kind, len(key), _is_word(key[0]), _is_word(key[-1]))
            self.keys.setdefault(key, []).append(entry)
            if glue and kind == _PHRASE:
                flat = re.sub(r"[^a-z0-9]", "", key)
                if len(flat) >= 12 and key.isascii():
                    self.glued.setdefault(flat, []).append(
                        _Entry(owner, _PHRASE, len(flat), False, False)
                    )


class _FileLoader:
    def __init__(self, path: Path, builder: _Builder):
        self.path = path
        self.b = builder

    def error(self, line: int | None, message: str) -> CircumventionRuleError:
        return CircumventionRuleError(self.path, line, message)

    def strings(self, value: object, line: int | None, what: str) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(line, f"{what} must be a list of non-empty strings")
        return [v.strip() for v in value]

    def load(self) -> str:
        try:
            raw = self.path.read_text(encoding="utf-8")
            data = yaml.load(raw, Loader=_LineLoader)  # a SafeLoader subclass
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise self.error(None, f"cannot read rule file: {exc}") from exc
        if not isinstance(data, dict):
            raise self.error(None, "a rule file must be a mapping")
        data.pop(_LINE, None)
        unknown = sorted(set(data) - _FILE_KEYS)
        if unknown:
            raise self.error(None, f"unknown keys {unknown} (expected {sorted(_FILE_KEYS)})")
        for required in ("provenance", "lang"):
            if not isinstance(data.get(required), str) or not data[required].strip():
                raise self.error(None, f"`{required}` is required (a string)")
        lang = str(data["lang"])
        cues = data.get("cues") or {}
        if not isinstance(cues, dict):
            raise self.error(None, "`cues` must be a mapping of name -> group")
        cues.pop(_LINE, None)
        for name, body in cues.items():
            self.cue(str(name), body)
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            raise self.error(None, "`rules` must be a list")
        for body in rules:
            self.rule(body, lang)
        for phrase in self.strings(data.get("exceptions") or [], None, "`exceptions`"):
            self.b.add_phrase("", phrase, _EXCEPTION, False)
        return raw

    def patterns(
        self, owner: str, body: dict[str, Any], line: int, glue: bool
    ) -> tuple[bool, bool]:
        """Register the phrases and regexes of a cue or rule; returns (has phrases, has regex)."""
        phrases = self.strings(body.get("phrases") or [], line, f"{owner}: `phrases`")
        for phrase in phrases:
            self.b.add_phrase(owner, phrase, _PHRASE, glue)
        regexes = self.strings(body.get("regex") or [], line, f"{owner}: `regex`")
        view = body.get("view", "normalized")
        if view not in ("normalized", "original"):
            raise self.error(line, f"{owner}: `view` must be normalized or original")
        if regexes:
            anchors = self.strings(body.get("anchors") or [], line, f"{owner}: `anchors`")
            if not anchors:
                raise self.error(line, f"{owner}: a regex needs `anchors` (literal prefilters)")
            compiled = []
            for pattern in regexes:
                bad = _unbounded_quantifier(pattern)
                if bad is not None:
                    raise self.error(
                        line, f"{owner}: unbounded quantifier {bad!r} (use a bound like {{0,30}})"
                    )
                try:
                    compiled.append(_compile(pattern, view == "original"))
                except Exception as exc:  # re.error / regex.error
                    raise self.error(line, f"{owner}: bad regex {pattern!r}: {exc}") from exc
            if view == "original":
                lowered = tuple(a.lower() for a in anchors)
                self.b.original.extend((owner, lowered, c) for c in compiled)
            else:
                self.b.regexes.setdefault(owner, []).extend(compiled)
                for anchor in anchors:
                    self.b.add_phrase(owner, anchor, _ANCHOR, False)
        elif body.get("anchors"):
            raise self.error(line, f"{owner}: `anchors` without `regex`")
        return bool(phrases), bool(regexes)

    def cue(self, name: str, body: object) -> None:
        if not isinstance(body, dict):
            raise self.error(None, f"cue {name!r} must be a mapping")
        line = int(body.pop(_LINE, 0)) or None
        if not _NAME_RE.match(name):
            raise self.error(line, f"bad cue name {name!r} (lower case, digits, '-')")
        unknown = sorted(set(body) - _CUE_KEYS)
        if unknown:
            raise self.error(line, f"cue {name!r}: unknown keys {unknown}")
        if name in self.b.rules:
            raise self.error(line, f"cue {name!r} has the name of a rule")
        has_phrases, has_regex = self.patterns(name, body, line or 0, False)
        if not (has_phrases or has_regex):
            raise self.error(line, f"cue {name!r} has no phrases or regex")
        self.b.cues.add(name)

    def rule(self, body: object, lang: str) -> None:
        if not isinstance(body, dict):
            raise self.error(None, "a rule must be a mapping")
        line = int(body.pop(_LINE, 0)) or None
        unknown = sorted(set(body) - _RULE_KEYS)
        if unknown:
            raise self.error(line, f"unknown keys {unknown} (expected {sorted(_RULE_KEYS)})")
        rid, family, weight = body.get("id"), body.get("family"), body.get("weight")
        for what, value in (("id", rid), ("family", family)):
            if not isinstance(value, str) or not _NAME_RE.match(value):
                raise self.error(line, f"`{what}` must be a name (lower case, digits, '-')")
        assert isinstance(rid, str) and isinstance(family, str)
        if rid in self.b.rules or rid in self.b.cues:
            raise self.error(line, f"duplicate rule id {rid!r}")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise self.error(line, f"{rid}: `weight` must be a number in [0, 1]")
        if not 0.0 <= float(weight) <= 1.0:
            raise self.error(line, f"{rid}: `weight` must be in [0, 1], got {weight}")
        requires = tuple(self.strings(body.get("requires") or [], line, f"{rid}: `requires`"))
        has_phrases, has_regex = self.patterns(rid, body, line or 0, True)
        combo = not (has_phrases or has_regex)
        if combo and not requires:
            raise self.error(line, f"{rid}: a rule needs phrases, regex or `requires`")
        where = f"{self.path.name}:{line}"
        within = body.get("within")
        if within is not None and (
            isinstance(within, bool) or not isinstance(within, int) or within < 1
        ):
            raise self.error(line, f"{rid}: `within` must be a positive number of characters")
        if within is not None and not requires:
            raise self.error(line, f"{rid}: `within` needs `requires`")
        self.b.rules[rid] = _Rule(rid, family, float(weight), requires, combo, within, lang, where)
        self.b.requires_at.extend((name, rid, where) for name in requires)


def _words(paths: Iterable[Path]) -> frozenset[str]:
    out: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            word = line.strip().lower()
            if word and not word.startswith("#"):
                out.add(word)
    return frozenset(out)


def _load_t2i(paths: Sequence[Path]) -> tuple[_T2I, str]:
    weights: dict[str, float] = {}
    lists: dict[str, list[str]] = {
        "sensitive": [],
        "person": [],
        "removal": [],
        "not-gibberish": [],
    }
    raws = []
    for path in paths:
        raw = path.read_text(encoding="utf-8")
        raws.append(raw)
        try:
            data = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise CircumventionRuleError(path, None, f"cannot read t2i file: {exc}") from exc
        if not isinstance(data, dict):
            raise CircumventionRuleError(path, None, "a t2i file must be a mapping")
        unknown = sorted(set(data) - {"provenance", "license", "weights", *lists})
        if unknown:
            raise CircumventionRuleError(path, None, f"unknown keys {unknown}")
        for name, value in (data.get("weights") or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise CircumventionRuleError(path, None, f"weight {name!r} must be in [0, 1]")
            weights[str(name)] = float(value)
        for name, items in lists.items():
            items.extend(str(v).strip() for v in data.get(name) or [] if str(v).strip())
    for name in ("weighted-sensitive-term", "negative-prompt-inversion", "gibberish-token"):
        if name not in weights:
            raise CircumventionRuleError(paths[0], None, f"t2i weight {name!r} is missing")

    def keys(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for k in (normalize(t).text for t in lists[name]) if k))

    t2i = _T2I(
        weights=weights,
        sensitive=keys("sensitive"),
        person=keys("person"),
        removal=keys("removal"),
        not_gibberish=frozenset(t.lower() for t in lists["not-gibberish"]),
    )
    return t2i, "\0".join(raws)


def _automaton(keys: dict[str, list[_Entry]]) -> Any:
    if not keys:
        return None
    automaton = ahocorasick.Automaton()
    for key, entries in keys.items():
        automaton.add_word(key, tuple(entries))
    automaton.make_automaton()
    return automaton


def _build(dirs: Sequence[Path]) -> _RuleSet:
    builder = _Builder()
    digest = hashlib.sha256()
    t2i_files: list[Path] = []
    word_files: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            raise CircumventionRuleError(d, None, "not a directory")
        for path in sorted(d.glob("*.yaml")):
            if path.name == "t2i.yaml":
                t2i_files.append(path)
                continue
            raw = _FileLoader(path, builder).load()
            digest.update(path.name.encode() + b"\0" + raw.encode() + b"\0")
        word_files.extend(sorted(d.glob("common_words_*.txt")))
    if not t2i_files:
        raise CircumventionRuleError(dirs[0], None, "t2i.yaml is missing")
    t2i, t2i_raw = _load_t2i(t2i_files)
    digest.update(t2i_raw.encode())
    families: dict[str, list[str]] = {}
    for rule in builder.rules.values():
        families.setdefault(rule.family, []).append(rule.id)
    for name in families:
        if name in builder.cues:
            raise CircumventionRuleError(dirs[0], None, f"{name!r} is both a cue and a family")
    known = {*builder.cues, *families, *builder.rules, VIRTUAL_PAYLOAD}
    for name, rid, where in builder.requires_at:
        if name not in known:
            raise CircumventionRuleError(
                where.rsplit(":", 1)[0],
                int(where.rsplit(":", 1)[1]) if where.rsplit(":", 1)[1].isdigit() else None,
                f"{rid}: `requires` names {name!r}, which is no cue, family or rule",
            )
    missing = [c for c in _REQUIRED_CUES if c not in builder.cues]
    if missing:
        raise CircumventionRuleError(dirs[0], None, f"cue groups {missing} are missing")
    words = _words(word_files)
    # the harmful-topic words count as English words when decoding ROT13 / reversed text
    words |= {
        k
        for k, es in builder.keys.items()
        if k.isalpha() and k.isascii() and any(e.owner == "harmful-topic" for e in es)
    }
    return _RuleSet(
        automaton=_automaton(builder.keys),
        glued=_automaton(builder.glued),
        regexes={k: tuple(v) for k, v in builder.regexes.items()},
        original=tuple(builder.original),
        rules=dict(builder.rules),
        combos=tuple(r.id for r in builder.rules.values() if r.combo),
        cues=frozenset(builder.cues),
        families={k: tuple(v) for k, v in families.items()},
        t2i=t2i,
        words=frozenset(words),
        fingerprint=digest.hexdigest()[:12],
    )


_CACHE: dict[tuple[Path, ...], _RuleSet] = {}
_LOCK = threading.Lock()


def _ruleset(dirs: tuple[Path, ...]) -> _RuleSet:
    rs = _CACHE.get(dirs)
    if rs is None:
        with _LOCK:
            rs = _CACHE.get(dirs)
            if rs is None:
                rs = _build(dirs)
                _CACHE[dirs] = rs
    return rs


# --------------------------------------------------------------------------- phrase matching


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int  # original offsets
    end: int
    detail: str


_GLUED_RE: Final = re.compile(r"(?:(?<![a-z])[a-z] )?[a-z]{16,}(?: [a-z]{16,}){0,20}")


def _windows(spots: list[int], n: int) -> list[tuple[int, int]]:
    """Merged windows of ``REGEX_WINDOW`` characters either side of the anchor offsets (the
    whole text when an anchor is everywhere or the windows cover most of it)."""
    if len(spots) >= MAX_ANCHOR_SPOTS:
        return [(0, n)]
    out: list[tuple[int, int]] = []
    for p in sorted(spots):
        a, b = max(0, p - REGEX_WINDOW), min(n, p + REGEX_WINDOW)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    if len(out) > 1 and 2 * sum(b - a for a, b in out) > n:
        return [(0, n)]
    return out


def _search_windows(patterns: Iterable[Any], text: str, spots: list[int]) -> Any:
    """The first match of any of ``patterns`` in the windows around ``spots``."""
    windows = _windows(spots, len(text))
    for compiled in patterns:
        for a, b in windows:
            m = _search(compiled, text, a, b)
            if m is not None:
                return m
    return None


def _match(rs: _RuleSet, item: ScanItem) -> dict[str, list[_Hit]]:
    """Every cue and rule pattern that occurs in the item (rules after exceptions)."""
    full = item.normalized
    view = squeeze_repeats(full)
    s = view.text
    found: dict[str, list[tuple[int, int, str]]] = {}
    exceptions: list[tuple[int, int]] = []

    def add(owner: str, ostart: int, oend: int, detail: str) -> None:
        lst = found.setdefault(owner, [])
        if len(lst) < MAX_HITS_KEPT:
            lst.append((ostart, oend, detail))

    anchored: dict[str, list[int]] = {}  # owner -> original offsets of its anchors
    n = len(s)
    if rs.automaton is not None and s:
        for last, entries in rs.automaton.iter(s):
            end = last + 1
            for e in entries:
                start = end - e.length
                if e.kind == _ANCHOR:
                    spots = anchored.setdefault(e.owner, [])
                    if len(spots) < MAX_ANCHOR_SPOTS:
                        spots.append(view.offsets[start])
                    continue
                if e.left and start > 0 and _is_word(s[start - 1]):
                    continue
                if e.right and end < n and _is_word(s[end]):
                    continue
                ostart, oend = view.to_original(start, end)
                if e.kind == _EXCEPTION:
                    exceptions.append((ostart, oend))
                else:
                    add(e.owner, ostart, oend, f"phrase {s[start:end]!r}")
    ftext, foffsets = full.text, full.offsets
    for owner in sorted(anchored):
        spots = [bisect_left(foffsets, o, 0, len(ftext)) for o in anchored[owner]]
        m = _search_windows(rs.regexes.get(owner, ()), ftext, spots)
        if m is not None:
            ostart, oend = full.to_original(m.start(), m.end())
            add(owner, ostart, oend, f"pattern {_preview(m.group(), 50)!r}")
    if rs.original:
        text = item.text
        low = text.lower()
        for owner, anchors, compiled in rs.original:
            if owner in found:
                continue
            spots = []
            for a in anchors:
                i = low.find(a)
                while i >= 0 and len(spots) < MAX_ANCHOR_SPOTS:
                    spots.append(i)
                    i = low.find(a, i + 1)
            if spots:
                m = _search_windows((compiled,), text, spots)
                if m is not None:
                    add(owner, m.start(), m.end(), f"pattern {_preview(m.group(), 50)!r}")
    if rs.glued is not None and _GLUED_RE.search(s):
        for m in _GLUED_RE.finditer(s):
            index = [m.start() + i for i, ch in enumerate(m.group()) if ch != " "]
            flat = m.group().replace(" ", "")
            for last, entries in rs.glued.iter(flat):
                for e in entries:
                    a, b = index[last + 1 - e.length], index[last] + 1
                    ostart, oend = view.to_original(a, b)
                    add(
                        e.owner,
                        ostart,
                        oend,
                        f"spelt-out phrase {flat[last + 1 - e.length : last + 1]!r}",
                    )
    out: dict[str, list[_Hit]] = {}
    for owner, spans in found.items():
        is_rule = owner in rs.rules
        kept = [
            _Hit(a, b, d)
            for a, b, d in spans
            if not (
                is_rule and any(xa <= a and b <= xb and (xa, xb) != (a, b) for xa, xb in exceptions)
            )
        ]
        if kept:
            out[owner] = kept
    return out


# --------------------------------------------------------------------------- encoded payloads


@dataclass(frozen=True, slots=True)
class _Payload:
    encoding: str
    start: int
    end: int
    decoded: str
    weight: float
    derive: bool = True  # becomes a DerivedText
    benign_cap: bool = True  # capped inside a programming question


def _as_text(data: bytes, min_len: int = 4) -> str | None:
    """The bytes as text when they are mostly printable UTF-8 with some letters."""
    if len(data) < min_len:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    n = len(text)
    printable = sum(1 for c in text if c.isprintable() or c in "\n\r\t")
    letters = sum(1 for c in text if c.isalpha())
    if printable < 0.95 * n or letters < 3 or letters < 0.3 * n:
        return None
    return text


class _Claims:
    """Spans of the original text already explained by a payload."""

    def __init__(self) -> None:
        self.spans: list[tuple[int, int]] = []

    def free(self, start: int, end: int) -> bool:
        return not any(a < end and start < b for a, b in self.spans)

    def take(self, start: int, end: int) -> None:
        self.spans.append((start, end))


_TAG_RE: Final = re.compile("[\U000e0000-\U000e007f]+")
_VS_RE: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{4,}")
_JWT_RE: Final = re.compile(
    r"\beyJ[A-Za-z0-9_-]{5,}\.(eyJ[A-Za-z0-9_-]{5,})\.[A-Za-z0-9_-]{0,1000}"
)
_DATA_URL_RE: Final = re.compile(
    r"data:([\w.+-]{1,40}/[\w.+-]{1,60})(?:;[\w=.-]{1,40}){0,3};base64,([A-Za-z0-9+/=]{16,})", re.I
)
_PCT_RE: Final = re.compile(r"%[0-9A-Fa-f]{2}")
_HEX_ESC_RE: Final = re.compile(r"(?:\\x[0-9A-Fa-f]{2}){4,}")
_HEX_SPACED_RE: Final = re.compile(
    r"(?<![0-9A-Za-z])(?:0x)?[0-9A-Fa-f]{2}(?:(?:[ ,:-]|, ){1,2}(?:0x)?[0-9A-Fa-f]{2}){5,}(?![0-9A-Za-z])"
)
_BINARY_RE: Final = re.compile(r"(?<![01])[01]{8}(?:[ ,]{1,2}[01]{8}){3,}(?![01])")
_HEX_RUN_RE: Final = re.compile(r"(?<![0-9A-Za-z])(?:[0-9A-Fa-f]{2}){8,}(?![0-9A-Za-z])")
_B64_RUN_RE: Final = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_-]{16,}={0,2}")
_LONG_RUN_RE: Final = re.compile(r"[A-Za-z0-9+/_-]{16}")
_WORD_RE: Final = re.compile(r"[A-Za-z]{2,}")
_MULTI_LEET: Final = {
    "|\\/|": "m",
    "/\\/\\": "m",
    "|\\|": "n",
    "/\\/": "n",
    "\\/\\/": "w",
    "|_|": "u",
    "(_)": "u",
    "/\\": "a",
    "\\/": "v",
    "|-|": "h",
    "]-[": "h",
    "|<": "k",
    "|2": "r",
    "|3": "b",
}
_MULTI_LEET_RE: Final = re.compile(
    "|".join(re.escape(k) for k in sorted(_MULTI_LEET, key=len, reverse=True))
)
_LEET_HINT_RE: Final = re.compile(r"[A-Za-z][0-9@$]|[0-9@$][A-Za-z]")
_ASSIGN_RE: Final = re.compile(
    r"(?<![\w.$])(\$?[A-Za-z_]\w{0,15})\s{0,3}(?:=|:=)\s{0,3}"
    r"(?:\"([^\"\n]{1,200})\"|'([^'\n]{1,200})'|“([^”\n]{1,200})”|‘([^’\n]{1,200})’)"
)
_CONCAT_RE: Final = re.compile(
    r"(?<![\w.$])\$?[A-Za-z_]\w{0,15}(?:\s{0,3}\+\s{0,3}\$?[A-Za-z_]\w{0,15}){1,9}"
)
_ROT13: Final = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "nopqrstuvwxyzabcdefghijklmNOPQRSTUVWXYZABCDEFGHIJKLM",
)


def _shift_table(k: int) -> dict[int, int]:
    lower = "abcdefghijklmnopqrstuvwxyz"
    upper = lower.upper()
    return str.maketrans(lower + upper, lower[k:] + lower[:k] + upper[k:] + upper[:k])


def _invisible(text: str, claims: _Claims) -> list[_Payload]:
    out: list[_Payload] = []
    for m in _TAG_RE.finditer(text):
        run = m.group()
        if run.endswith("\U000e007f") and text[max(0, m.start() - 1) : m.start()] == "\U0001f3f4":
            continue  # a subdivision flag emoji (England, Scotland, Wales)
        decoded = "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)
        if len(decoded.strip()) >= 2:
            claims.take(m.start(), m.end())
            out.append(
                _Payload("unicode-tags", m.start(), m.end(), decoded, INVISIBLE_WEIGHT, True, False)
            )
    for m in _VS_RE.finditer(text):
        data = bytes(
            ord(c) - 0xFE00 if ord(c) < 0xFF00 else ord(c) - 0xE0100 + 16 for c in m.group()
        )
        decoded_vs = _as_text(data)
        if decoded_vs is not None:
            claims.take(m.start(), m.end())
            out.append(
                _Payload(
                    "variation-selectors",
                    m.start(),
                    m.end(),
                    decoded_vs,
                    INVISIBLE_WEIGHT,
                    True,
                    False,
                )
            )
    return out


def _percent(text: str, claims: _Claims) -> list[_Payload]:
    out: list[_Payload] = []
    n = len(text)
    pos = 0
    for m in _PCT_RE.finditer(text):
        if m.start() < pos:
            continue
        a = m.start()
        while a > 0 and not text[a - 1].isspace() and text[a - 1] not in "\"'<>":
            a -= 1
        b = m.end()
        while b < n and not text[b].isspace() and text[b] not in "\"'<>":
            b += 1
        pos = b
        token = text[a:b]
        escapes = _PCT_RE.findall(token)
        if len(escapes) < 3 or not claims.free(a, b):
            continue
        plain = sum(1 for e in escapes if chr(int(e[1:], 16)).isalnum())
        raw = urllib.parse.unquote_to_bytes(token)
        decoded = _as_text(raw, 3)
        if decoded is None or decoded == token:
            continue
        non_ascii = sum(1 for c in decoded if ord(c) > 127 and c.isalpha())
        if plain < 3 and non_ascii < 2:
            continue
        link = "://" in token or token.lower().startswith("www.")
        claims.take(a, b)
        out.append(_Payload("url", a, b, decoded, LINK_WEIGHT if link else PAYLOAD_WEIGHT))
    return out


def _hex_and_binary(text: str, claims: _Claims) -> list[_Payload]:
    out: list[_Payload] = []
    if "\\x" in text:
        for m in _HEX_ESC_RE.finditer(text):
            decoded = _as_text(bytes.fromhex(m.group().replace("\\x", "")))
            if decoded is not None and claims.free(m.start(), m.end()):
                claims.take(m.start(), m.end())
                out.append(_Payload("hex", m.start(), m.end(), decoded, PAYLOAD_WEIGHT))
    for m in _HEX_SPACED_RE.finditer(text):
        digits = re.sub(r"0x|[ ,:-]", "", m.group())
        decoded = _as_text(bytes.fromhex(digits)) if len(digits) % 2 == 0 else None
        if decoded is not None and claims.free(m.start(), m.end()):
            claims.take(m.start(), m.end())
            out.append(_Payload("hex", m.start(), m.end(), decoded, PAYLOAD_WEIGHT))
    for m in _BINARY_RE.finditer(text):
        bits = re.sub(r"[ ,]", "", m.group())
        decoded = _as_text(bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8)))
        if decoded is not None and claims.free(m.start(), m.end()):
            claims.take(m.start(), m.end())
            out.append(_Payload("binary", m.start(), m.end(), decoded, PAYLOAD_WEIGHT))
    return out


def _b64_decode(s: str) -> bytes | None:
    core = s.rstrip("=")
    pad = len(s) - len(core)
    if len(core) % 4 == 1 or (pad and (len(core) + pad) % 4 != 0):
        return None
    urlsafe = "-" in core or "_" in core
    if urlsafe and ("+" in core or "/" in core):
        return None
    padded = core + "=" * (-len(core) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _long_runs(text: str, claims: _Claims) -> list[_Payload]:
    """JWTs, data URLs, long hex runs and base64 (line-wrapped base64 is joined first)."""
    out: list[_Payload] = []
    if "eyJ" in text:
        for m in _JWT_RE.finditer(text):
            raw = _b64_decode(m.group(1))
            decoded = _as_text(raw) if raw is not None else None
            claims.take(m.start(), m.end())
            if decoded is not None:
                out.append(_Payload("jwt", m.start(), m.end(), decoded, JWT_WEIGHT))
    if "base64," in text:
        for m in _DATA_URL_RE.finditer(text):
            claims.take(m.start(), m.end())
            if m.group(1).lower().startswith("text/"):
                raw = _b64_decode(m.group(2))
                decoded = _as_text(raw) if raw is not None else None
                if decoded is not None:
                    out.append(_Payload("base64", m.start(), m.end(), decoded, DATA_URL_WEIGHT))
    for m in _HEX_RUN_RE.finditer(text):
        if not claims.free(m.start(), m.end()):
            continue
        decoded = _as_text(bytes.fromhex(m.group()))
        if decoded is not None:
            claims.take(m.start(), m.end())
            out.append(_Payload("hex", m.start(), m.end(), decoded, PAYLOAD_WEIGHT))
    runs: list[list[int]] = []
    for m in _B64_RUN_RE.finditer(text):
        a, b = m.start(), m.end()
        if runs:
            pa, pb = runs[-1]
            gap = text[pb:a]
            if gap in ("\n", "\r\n") and pb - pa >= 40 and not text[pa:pb].endswith("="):
                runs[-1][1] = b
                continue
        runs.append([a, b])
    for a, b in runs:
        if not claims.free(a, b):
            continue
        chunk = re.sub(r"\s", "", text[a:b])
        raw = _b64_decode(chunk)
        decoded = _as_text(raw) if raw is not None else None
        if decoded is not None:
            claims.take(a, b)
            out.append(_Payload("base64", a, b, decoded, PAYLOAD_WEIGHT))
    return out


def _word_segments(
    text: str,
    words: frozenset[str],
    decoded: str | None,
    decode: Callable[[str], str] | None,
    min_hits: int,
    min_ratio: float,
) -> list[tuple[int, int]]:
    """Spans of consecutive words most of which become common words when decoded (read from
    ``decoded``, the whole text decoded letter for letter, or through ``decode`` per word)
    and are not common words themselves. A common word that stays common decoded breaks a
    span; one that is common both ways ("bar"/"one" under ROT13) is neutral."""
    spans: list[tuple[int, int]] = []
    seg: list[tuple[int, int, int]] = []  # start, end, 1 hit / 0 other

    def close() -> None:
        while seg and not seg[-1][2]:
            seg.pop()
        i = 0
        while i < len(seg) and not seg[i][2]:
            i += 1
        if i < len(seg):
            hits = sum(h for _, _, h in seg)
            if hits >= min_hits and hits >= min_ratio * (len(seg) - i):
                spans.append((seg[i][0], seg[-1][1]))
        seg.clear()

    lower = text.lower()
    dec = decoded.lower() if decoded is not None else None
    for m in _WORD_RE.finditer(lower):
        a, b = m.span()
        w = m.group()
        plain = w in words
        if dec is not None:
            coded = dec[a:b] in words
        else:
            assert decode is not None
            coded = decode(w) in words
        if plain and not coded:
            if seg:
                close()
        elif coded and not plain:
            seg.append((a, b, 1 if b - a >= 3 else 0))
        elif seg:
            seg.append((a, b, 0))
    close()
    return spans


# frequent short words as they look under ROT13 / reversed: a text with none of them holds no
# payload of four or more common words, unless the prompt names the trick
_ROT13_HINT_RE: Final = re.compile(
    r"\b(?:gur|naq|gb|bs|vf|vg|lbh|sbe|ubj|jung|gung|guvf|jvgu|znxr|pna|ner|jnl|zr|zl)\b"
)
_REVERSED_HINT_RE: Final = re.compile(
    r"\b(?:eht|dna|ot|fo|si|ti|uoy|rof|woh|tahw|taht|siht|htiw|ekam|nac|era|yaw|em|ym)\b"
)


def _ciphers(text: str, rs: _RuleSet, cues: set[str], claims: _Claims) -> list[_Payload]:
    """ROT13, Caesar shifts (only when the prompt names them) and reversed text."""
    out: list[_Payload] = []
    if not text.isascii() and len(text.encode("ascii", "ignore")) < 0.6 * len(text):
        return out
    words = rs.words
    strict = (4, 0.6)
    cued = (2, 0.5)
    rot_cue = "rot13-cue" in cues
    lower = text.lower()
    if rot_cue or _ROT13_HINT_RE.search(lower):
        rotated = text.translate(_ROT13)
        segments = _word_segments(text, words, rotated, None, *(cued if rot_cue else strict))
        for a, b in segments:
            if claims.free(a, b):
                claims.take(a, b)
                out.append(_Payload("rot13", a, b, rotated[a:b], PAYLOAD_WEIGHT))
    if "caesar-cue" in cues and len(text) <= CAESAR_MAX_CHARS:
        best: tuple[int, str, list[tuple[int, int]]] = (0, "", [])
        for k in range(1, 26):
            if k == 13:
                continue
            shifted = text.translate(_shift_table(k))
            spans = _word_segments(text, words, shifted, None, *cued)
            total = sum(b - a for a, b in spans)
            if total > best[0]:
                best = (total, shifted, spans)
        _, shifted, spans = best
        for a, b in spans:
            if claims.free(a, b):
                claims.take(a, b)
                out.append(_Payload("caesar", a, b, shifted[a:b], PAYLOAD_WEIGHT))
    rev_cue = "reverse-cue" in cues
    if rev_cue or _REVERSED_HINT_RE.search(lower):
        segments = _word_segments(text, words, None, _reverse, *(cued if rev_cue else strict))
        for a, b in segments:
            if not claims.free(a, b):
                continue
            span = text[a:b]
            whole = span[::-1]
            by_word = _WORD_RE.sub(lambda m: m.group()[::-1], span)
            decoded = by_word if _word_order(by_word) > _word_order(whole) else whole
            claims.take(a, b)
            out.append(_Payload("reversed", a, b, decoded, PAYLOAD_WEIGHT))
    return out


def _reverse(word: str) -> str:
    return word[::-1]


# words that come before the word they belong to ("to make", "a bomb", "how to")
_LEADING_WORDS: Final = frozenset(
    "to a an the of in into for with on at from by my your his her their our how what".split()
)


def _word_order(text: str) -> int:
    """How English the word order looks: leading words followed by another word, plus one
    for a capital first letter. Tells "how to make a bomb" from "bomb a make to how"."""
    tokens = [w.lower() for w in _WORD_RE.findall(text)]
    pairs = sum(
        1 for x, y in itertools.pairwise(tokens) if x in _LEADING_WORDS and y not in _LEADING_WORDS
    )
    return 2 * pairs + (1 if text[:1].isupper() else 0)


def _leetspeak(
    text: str, full: NormalizedText, words: frozenset[str], claims: _Claims
) -> list[_Payload]:
    """Multi-character leetspeak (``|\\/|`` for m) the normaliser cannot fold, decoded; and a
    hint when the normaliser folded two or more leet words into common words (``1gn0re``)."""
    out: list[_Payload] = []
    if "|" in text or "/\\" in text or "\\/" in text or "(_)" in text or "]-[" in text:
        found = [
            m
            for m in _MULTI_LEET_RE.finditer(text)
            if (m.start() > 0 and text[m.start() - 1].isalpha())
            or (m.end() < len(text) and text[m.end()].isalpha())
        ]
        if len(found) >= 2:
            a = found[0].start()
            while a > 0 and not text[a - 1].isspace():
                a -= 1
            b = found[-1].end()
            while b < len(text) and not text[b].isspace():
                b += 1
            decoded = _MULTI_LEET_RE.sub(lambda m: _MULTI_LEET[m.group()], text[a:b])
            if claims.free(a, b):
                claims.take(a, b)
                out.append(_Payload("leetspeak", a, b, decoded, MULTI_LEET_WEIGHT))
    if _LEET_HINT_RE.search(text):
        seen: set[int] = set()
        folded: dict[str, tuple[int, int]] = {}
        offsets = full.offsets
        for m in _LEET_HINT_RE.finditer(text):
            a = m.start()
            while a > 0 and (text[a - 1].isalnum() or text[a - 1] in "@$"):
                a -= 1
            if a in seen or text[a] in "@$":
                continue
            seen.add(a)
            b = m.end()
            while b < len(text) and (text[b].isalnum() or text[b] in "@$"):
                b += 1
            i = bisect_left(offsets, a, 0, len(full.text))
            j = bisect_left(offsets, b, i, len(full.text))
            norm = full.text[i:j]
            if len(norm) >= 4 and norm in words and norm != text[a:b].lower():
                folded.setdefault(norm, (a, b))
        if len(folded) >= 2:
            spans = sorted(folded.values())
            listed = " ".join(folded)
            out.append(
                _Payload(
                    "leetspeak", spans[0][0], spans[-1][1], listed, LEET_TOKENS_WEIGHT, derive=False
                )
            )
    return out


def _payload_split(text: str, cues: set[str], claims: _Claims) -> list[_Payload]:
    if "=" not in text or "+" not in text:
        return []
    values: dict[str, tuple[str, int]] = {}
    for m in _ASSIGN_RE.finditer(text):
        value = next(g for g in m.groups()[1:] if g is not None)
        values.setdefault(m.group(1), (value, m.start()))
    if len(values) < 2:
        return []
    for m in _CONCAT_RE.finditer(text):
        names = [n.strip() for n in m.group().split("+")]
        if len(set(names)) < 2 or not all(n in values for n in names):
            continue
        start = min(min(values[n][1] for n in names), m.start())
        end = m.end()
        decoded = "".join(values[n][0] for n in names)
        if not claims.free(start, end):
            continue
        claims.take(start, end)
        if "code-context" in cues:
            weight = BENIGN_CONTEXT_CAP
        else:
            weight = SPLIT_WEIGHT if "answer-cue" in cues else SPLIT_WEAK_WEIGHT
        return [_Payload("concatenation", start, end, decoded, weight, benign_cap=False)]
    return []


def _payloads(rs: _RuleSet, item: ScanItem, cues: set[str]) -> list[_Payload]:
    text = item.text
    claims = _Claims()
    out: list[_Payload] = []
    if not text.isascii():
        out += _invisible(text, claims)
    if "%" in text:
        out += _percent(text, claims)
    out += _hex_and_binary(text, claims)
    if _LONG_RUN_RE.search(text):
        out += _long_runs(text, claims)
    if "code-context" not in cues:
        out += _leetspeak(text, item.normalized, rs.words, claims)
    out += _payload_split(text, cues, claims)
    out += _ciphers(text, rs, cues, claims)
    if "code-context" in cues:
        out = [
            p
            if not p.benign_cap or p.weight <= BENIGN_CONTEXT_CAP
            else _Payload(
                p.encoding, p.start, p.end, p.decoded, BENIGN_CONTEXT_CAP, p.derive, False
            )
            for p in out
        ]
    out.sort(key=lambda p: p.start)
    return out[:MAX_PAYLOADS]


# --------------------------------------------------------------------------- text-to-image


_WEIGHTED_RE: Final = re.compile(
    r"(?<![\w\])])(?:"
    r"\({2,4}(?!['\"])([^()\[\]{}\n'\"]{1,60}?)(?::\s{0,2}-?\d{0,2}(?:\.\d{1,3})?)?\){1,4}"
    r"|\((?!['\"])([^()\[\]{}\n'\"]{1,60}?):\s{0,2}-?\d{0,2}(?:\.\d{1,3})?\)"
    r"|\[{1,4}(?!['\"])([^\[\]()\n'\"]{1,60})\]{1,4}"
    r"|\{{1,4}(?!['\"])([^{}()\n'\"]{1,60})\}{1,4}"
    r"|<(?:lora|lyco|hypernet|embedding):([^:>\n]{1,80})(?::[^>\n]{0,20})?>)",
    re.IGNORECASE,
)
_ALPHA_RE: Final = re.compile(r"[A-Za-z]{2,}")
_VOWELS: Final = frozenset("aeiouy")


def _find_term(text: str, terms: Iterable[str]) -> tuple[str, int, int] | None:
    """The first of ``terms`` in normalised ``text``, on word boundaries where they apply."""
    best: tuple[str, int, int] | None = None
    for term in terms:
        start = text.find(term)
        while start >= 0:
            end = start + len(term)
            left_ok = not _is_word(term[0]) or start == 0 or not _is_word(text[start - 1])
            right_ok = not _is_word(term[-1]) or end == len(text) or not _is_word(text[end])
            if left_ok and right_ok:
                if best is None or start < best[1]:
                    best = (term, start, end)
                break
            start = text.find(term, start + 1)
    return best


def _weighted_terms(rs: _RuleSet, text: str) -> list[Evidence]:
    out: list[Evidence] = []
    weight = rs.t2i.weights["weighted-sensitive-term"]
    for m in _WEIGHTED_RE.finditer(text):
        inner = next(g for g in m.groups() if g is not None)
        found = _find_term(normalize(inner.replace("_", " ")).text, rs.t2i.sensitive)
        if found is None:
            continue
        out.append(
            Evidence(
                category=CATEGORY,
                score=weight,
                start=m.start(),
                end=m.end(),
                text=m.group(),
                rule="circumvention/t2i:weighted-sensitive-term",
                detail=f"prompt weighting around {found[0]!r}",
            )
        )
        if len(out) >= MAX_HITS_PER_RULE:
            break
    return out


def _gibberish(rs: _RuleSet, text: str) -> list[Evidence]:
    if len(text) > 600:
        return []
    tokens = list(_ALPHA_RE.finditer(text))
    if len(tokens) < 4:
        return []
    words = rs.words
    common = sum(1 for m in tokens if m.group().lower() in words)
    out: list[Evidence] = []
    for m in tokens:
        w = m.group()
        if len(w) < 5 or not w.islower() or w in words or w in rs.t2i.not_gibberish:
            continue
        run = longest = 0
        for ch in w:
            run = 0 if ch in _VOWELS else run + 1
            longest = max(longest, run)
        if longest < 5 and any(ch in _VOWELS for ch in w):
            continue
        if common < 0.5 * (len(tokens) - 1):
            return []
        out.append(
            Evidence(
                category=CATEGORY,
                score=rs.t2i.weights["gibberish-token"],
                start=m.start(),
                end=m.end(),
                text=w,
                rule="circumvention/t2i:gibberish-token",
                detail="a nonsense token in an English prompt (may stand for a blocked word)",
            )
        )
        if len(out) >= MAX_HITS_PER_RULE:
            break
    return out


def negative_prompt_inversion(
    prompt: str, negative_prompt: str, *, extra_dirs: Sequence[Path | str] = ()
) -> Evidence | None:
    """Flag a negative prompt that removes clothing or censoring ("clothes", "censored",
    "mosaic", "衣服", "打码") while the positive prompt depicts a person: the image is steered
    towards nudity without a sexual word in the prompt. The evidence span is in
    ``negative_prompt``. Terms negated in the negative prompt ("no clothes") are ignored."""
    rs = _ruleset((BUILTIN_DIR, *(Path(d).resolve() for d in extra_dirs)))
    person = _find_term(normalize(prompt).text, rs.t2i.person)
    if person is None:
        return None
    nt = normalize(negative_prompt)
    s = nt.text
    for term in rs.t2i.removal:
        start = s.find(term)
        while start >= 0:
            end = start + len(term)
            bounded = (not _is_word(term[0]) or start == 0 or not _is_word(s[start - 1])) and (
                not _is_word(term[-1]) or end == len(s) or not _is_word(s[end])
            )
            negated = re.search(
                r"(?:\bno|\bnot|\bwithout|\bun|\bnon)[ -]?$", s[max(0, start - 9) : start]
            )
            if bounded and not negated:
                ostart, oend = nt.to_original(start, end)
                return Evidence(
                    category=CATEGORY,
                    score=rs.t2i.weights["negative-prompt-inversion"],
                    start=ostart,
                    end=oend,
                    text=negative_prompt[ostart:oend],
                    rule="circumvention/t2i:negative-prompt-inversion",
                    detail=(
                        f"negative prompt removes {term!r} while the prompt depicts "
                        f"{person[0]!r} (offsets are in the negative prompt)"
                    ),
                )
            start = s.find(term, start + 1)
    return None


# --------------------------------------------------------------------------- the detector


@dataclass(slots=True)
class _Signal:
    key: str  # evidence rule, e.g. "circumvention/persona:dan"
    weight: float
    hits: list[_Hit]


class CircumventionDetector:
    """Jailbreak framings, prompt injection, encoded payloads, text-to-image evasion and
    watermark/provenance removal (see the module doc)."""

    name: ClassVar[str] = "circumvention"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset(
        {Modality.PROMPT, Modality.NEGATIVE_PROMPT, Modality.OUTPUT_TEXT}
    )
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})

    def __init__(self, extra_dirs: Sequence[Path | str] = ()) -> None:
        self._dirs: tuple[Path, ...] = (BUILTIN_DIR, *(Path(d).resolve() for d in extra_dirs))
        self._rs: _RuleSet | None = None

    def _get(self) -> _RuleSet:
        if self._rs is None:
            self._rs = _ruleset(self._dirs)
        return self._rs

    def load(self) -> None:
        """Load the rule files now (otherwise on the first scan); raises
        ``CircumventionRuleError`` for a malformed file."""
        self._get()

    @classmethod
    def clear_cache(cls) -> None:
        with _LOCK:
            _CACHE.clear()

    @property
    def fingerprint(self) -> str:
        return self._get().fingerprint

    def counts(self) -> dict[str, int]:
        """Rules per language (``any`` for combinations) and cue groups."""
        rs = self._get()
        out: dict[str, int] = {}
        for rule in rs.rules.values():
            out[f"rules:{rule.lang}"] = out.get(f"rules:{rule.lang}", 0) + 1
        out["cues"] = len(rs.cues)
        out["families"] = len(rs.families)
        return out

    def scan(self, item: ScanItem) -> DetectorResult:
        rs = self._get()
        text = item.text
        if not text.strip():
            return DetectorResult(detector=self.name, version=self.version)
        hits = _match(rs, item)
        cues = {name for name in hits if name in rs.cues}
        payloads = _payloads(rs, item, cues)
        signals = self._fire(rs, hits, cues, payloads)
        t2i: list[Evidence] = []
        if item.modality == Modality.PROMPT:
            t2i = _weighted_terms(rs, text) + _gibberish(rs, text)
        return self._result(text, signals, payloads, t2i)

    # -- rules -----------------------------------------------------------------------------

    def _fire(
        self,
        rs: _RuleSet,
        hits: dict[str, list[_Hit]],
        cues: set[str],
        payloads: list[_Payload],
    ) -> list[_Signal]:
        satisfied = set(cues)
        payload_hits = [
            _Hit(p.start, p.end, f"decoded {p.encoding}")
            for p in payloads
            if p.derive and p.encoding != "jwt"
        ]
        if payload_hits:
            satisfied.add(VIRTUAL_PAYLOAD)
        candidates = [r for r in hits if r in rs.rules] + list(rs.combos)
        fired: dict[str, _Rule] = {}
        placed: dict[str, list[_Hit]] = {}  # rules with `within`: their hits near the rest

        def spans_of(name: str) -> list[_Hit]:
            if name == VIRTUAL_PAYLOAD:
                return payload_hits
            if name in placed:
                return placed[name]
            if name in hits:
                return hits[name]
            return [h for rid in rs.families.get(name, ()) if rid in fired for h in spans_of(rid)]

        def near(rule: _Rule) -> list[_Hit]:
            assert rule.within is not None
            own = spans_of(rule.requires[0]) if rule.combo else hits[rule.id]
            others = [spans_of(name) for name in rule.requires]
            w = rule.within
            return [
                h
                for h in own
                if all(
                    any(o.start <= h.end + w and o.end >= h.start - w for o in lst)
                    for lst in others
                )
            ]

        changed = True
        while changed:
            changed = False
            for rid in candidates:
                if rid in fired:
                    continue
                rule = rs.rules[rid]
                if not all(name in satisfied for name in rule.requires):
                    continue
                if rule.within is not None:
                    close = near(rule)
                    if not close:
                        continue
                    placed[rid] = close
                fired[rid] = rule
                satisfied.add(rid)
                satisfied.add(rule.family)
                changed = True

        signals = []
        for rid, rule in fired.items():
            key = f"circumvention/{rule.family}:{rid}"
            if not rule.combo:
                signals.append(_Signal(key, rule.weight, spans_of(rid)[:MAX_HITS_PER_RULE]))
                continue
            parts = [(name, spans_of(name)) for name in rule.requires]
            first = min((h for _, lst in parts for h in lst[:1]), key=lambda h: h.start)
            detail = "combination: " + " + ".join(
                f"{name} ({lst[0].detail})" if lst else name for name, lst in parts
            )
            signals.append(_Signal(key, rule.weight, [_Hit(first.start, first.end, detail)]))
        return signals

    # -- result ----------------------------------------------------------------------------

    def _result(
        self,
        text: str,
        signals: list[_Signal],
        payloads: list[_Payload],
        t2i: list[Evidence],
    ) -> DetectorResult:
        evidence: list[Evidence] = []
        best: dict[str, float] = {}
        for sig in signals:
            best[sig.key] = max(best.get(sig.key, 0.0), sig.weight)
            for h in sig.hits:
                evidence.append(
                    Evidence(
                        category=CATEGORY,
                        score=sig.weight,
                        start=h.start,
                        end=h.end,
                        text=text[h.start : h.end],
                        rule=sig.key,
                        detail=h.detail,
                    )
                )
        derived: list[DerivedText] = []
        for p in payloads:
            key = f"circumvention/encoding:{p.encoding}"
            best[key] = max(best.get(key, 0.0), p.weight)
            evidence.append(
                Evidence(
                    category=CATEGORY,
                    score=p.weight,
                    start=p.start,
                    end=p.end,
                    text=text[p.start : p.end],
                    rule=key,
                    detail=f"decoded {p.encoding}: {_preview(p.decoded)!r}",
                )
            )
            if p.derive:
                derived.append(
                    DerivedText(text=p.decoded, encoding=p.encoding, start=p.start, end=p.end)
                )
        for e in t2i:
            assert e.rule is not None
            best[e.rule] = max(best.get(e.rule, 0.0), e.score)
            evidence.append(e)
        if not best:
            return DetectorResult(detector=self.name, version=self.version)
        weights = sorted(best.values(), reverse=True)
        boost = min(MAX_BOOST, EXTRA_RULE_BOOST * (len(weights) - 1))
        score = round(min(MAX_SCORE, weights[0] + boost), 4)
        evidence.sort(key=lambda e: (-e.score, e.start or 0))
        listed = ", ".join(
            f"{k.split('/', 1)[1]} ({w:.2f})"
            for k, w in sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        )
        more = f", … {len(best) - 8} more" if len(best) > 8 else ""
        n = len(best)
        explanation = f"{n} {'signal' if n == 1 else 'signals'}: {listed}{more}"
        if derived:
            explanation += f"; {len(derived)} decoded {'text' if len(derived) == 1 else 'texts'}"
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={CATEGORY: score},
            evidence=tuple(evidence),
            explanation=explanation,
            derived=tuple(derived),
        )
