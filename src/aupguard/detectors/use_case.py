"""The use-case detector: requests that reveal a prohibited application, and requests for
personalised medical, legal or financial advice.

Some clauses are about *what a customer builds*, not about a topic: "inferring emotions in
the workplace or education institution", "creating or expanding facial recognition
databases", "assessing or predicting the risk of a person committing a crime, based solely on
profiling", social scoring, military targeting, interfering with power grids or voting
machines. Others need obligations only when advice is *personal*: "my son has a rash, should I
give him ibuprofen" asks for medical advice, "how do vaccines work" asks for information.
Words alone do not tell these apart; the combination of an application and its object does.

Rules are data (``use_cases/<lang>.yaml``, validated by :class:`UseCaseRules`): each has the
categories it scores, ``all_of`` patterns that must all match within ``window`` characters of
the normalised text, optional ``none_of`` patterns that cancel it (medical or safety reasons
for emotion recognition), and examples that the tests check. A use-case rule named in a
question about it ("what is social scoring", "the ethics of emotion recognition") is capped
at ``informational_cap`` unless the text also states an intent ("we want to build…");
personal-advice rules (``personal: true``) already require the asker's own situation.

Evidence: one span per matched pattern, in the original text, with the rule id.
Operators add rule files with ``UseCaseDetector(extra_files=...)``; ``reload()`` re-reads them.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, Final

import regex  # type: ignore[import-untyped, import-not-found, unused-ignore]
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from aupguard.detectors.base import DetectorError, DetectorResult, Evidence, ScanItem
from aupguard.detectors.operator_files import USE_CASE_RULES_ENV, operator_files
from aupguard.policy.models import Modality
from aupguard.policy.taxonomy import load_taxonomy

__all__ = ["RULES_DIR", "UseCaseDetector", "UseCaseRule", "UseCaseRules", "load_rules"]

RULES_DIR: Final = Path(__file__).with_name("use_cases")
#: the most combinations of pattern matches tried per rule (bounded work on long texts)
MAX_COMBINATIONS: Final = 4096
MAX_MATCHES_PER_PATTERN: Final = 16


def _compile(pattern: str) -> regex.Pattern[str]:
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.VERSION1)
    except regex.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from None


class RuleExamples(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()


class UseCaseRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    scores: dict[str, float]
    all_of: tuple[str, ...] = Field(min_length=1, max_length=4)
    none_of: tuple[str, ...] = ()
    window: int = Field(default=240, ge=10, le=2000)
    personal: bool = False
    examples: RuleExamples = RuleExamples()

    @field_validator("scores")
    @classmethod
    def _known_categories(cls, value: dict[str, float]) -> dict[str, float]:
        taxonomy = load_taxonomy()
        for category, score in value.items():
            if category not in taxonomy:
                raise ValueError(f"unknown category {category!r}")
            if not 0.0 <= score <= 1.0:
                raise ValueError(f"score {score} for {category!r} is outside [0, 1]")
        return value

    @field_validator("all_of", "none_of")
    @classmethod
    def _patterns_compile(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            _compile(pattern)
        return value


class UseCaseRules(BaseModel):
    """One rule file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provenance: str
    license: str
    lang: str
    informational: str | None = None
    intent: str | None = None
    informational_cap: float = Field(default=0.35, ge=0.0, le=1.0)
    rules: tuple[UseCaseRule, ...]

    @field_validator("informational", "intent")
    @classmethod
    def _pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _compile(value)
        return value


def load_rules(path: Path) -> UseCaseRules:
    """Read and validate one rule file; problems raise ``ValueError`` naming the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return UseCaseRules.model_validate(data)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


class _CompiledRule:
    __slots__ = ("all_of", "cap", "cap_pattern", "intent", "none_of", "rule")

    def __init__(self, rule: UseCaseRule, rules: UseCaseRules) -> None:
        self.rule = rule
        self.all_of = [_compile(p) for p in rule.all_of]
        self.none_of = [_compile(p) for p in rule.none_of]
        use_cap = not rule.personal and rules.informational is not None
        self.cap_pattern = (
            _compile(rules.informational) if use_cap and rules.informational else None
        )
        self.intent = _compile(rules.intent) if rules.intent else None
        self.cap = rules.informational_cap

    def match(self, text: str) -> tuple[list[tuple[int, int]], bool] | None:
        """The spans of one window where every pattern matches, and whether the score is
        capped as informational; None when the rule does not apply."""
        per_pattern: list[list[tuple[int, int]]] = []
        for pattern in self.all_of:
            spans = [
                m.span()
                for m in itertools.islice(pattern.finditer(text), MAX_MATCHES_PER_PATTERN)
                if m.end() > m.start()
            ]
            if not spans:
                return None
            per_pattern.append(spans)
        window = self.rule.window
        found: list[tuple[int, int]] | None = None
        for combo in itertools.islice(itertools.product(*per_pattern), MAX_COMBINATIONS):
            if max(e for _, e in combo) - min(s for s, _ in combo) <= window:
                found = list(combo)
                break
        if found is None:
            return None
        lo, hi = min(s for s, _ in found), max(e for _, e in found)
        context = text[max(0, lo - window) : hi + window]
        if any(p.search(context) for p in self.none_of):
            return None
        capped = (
            self.cap_pattern is not None
            and self.cap_pattern.search(text) is not None
            and not (self.intent is not None and self.intent.search(text))
        )
        return found, capped


class UseCaseDetector:
    """Prohibited applications and personalised regulated advice (module doc)."""

    name: ClassVar[str] = "use-case"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT, Modality.OUTPUT_TEXT})
    categories: ClassVar[frozenset[str]] = frozenset(
        {
            "privacy/biometric",
            "surveillance",
            "manipulation",
            "weapons/military",
            "critical-infrastructure",
            "regulated-advice/medical",
            "regulated-advice/legal",
            "regulated-advice/financial",
        }
    )

    def __init__(self, extra_files: Sequence[Path | str] | None = None) -> None:
        """``extra_files``: operator rule files; by default the files
        ``AUPGUARD_USE_CASE_RULES`` names."""
        if extra_files is None:
            extra_files = operator_files(USE_CASE_RULES_ENV)
        self.extra_files = tuple(Path(p) for p in extra_files)
        self._lock = threading.Lock()
        self._rules: list[_CompiledRule] | None = None
        self.rule_files: list[UseCaseRules] = []

    def reload(self) -> None:
        """Read the built-in and operator rule files again (takes effect on the next scan)."""
        files = sorted(RULES_DIR.glob("*.yaml")) + list(self.extra_files)
        loaded = [load_rules(p) for p in files]
        compiled = [_CompiledRule(rule, f) for f in loaded for rule in f.rules]
        for category in {c for r in compiled for c in r.rule.scores}:
            if category not in self.categories:
                raise ValueError(
                    f"use-case rules may not score {category!r} (not a use-case category)"
                )
        with self._lock:
            self.rule_files = loaded
            self._rules = compiled

    def _compiled(self) -> list[_CompiledRule]:
        if self._rules is None:
            try:
                self.reload()
            except ValueError as exc:
                raise DetectorError(str(exc)) from None
        assert self._rules is not None
        return self._rules

    def scan(self, item: ScanItem) -> DetectorResult:
        norm = item.normalized
        text = norm.text
        scores: dict[str, float] = {}
        evidence: list[Evidence] = []
        fired: list[str] = []
        for compiled in self._compiled():
            hit = compiled.match(text)
            if hit is None:
                continue
            spans, capped = hit
            rule = compiled.rule
            for category, score in rule.scores.items():
                value = min(score, compiled.cap) if capped else score
                scores[category] = max(scores.get(category, 0.0), value)
                for start, end in spans:
                    ostart, oend = norm.to_original(start, end)
                    evidence.append(
                        Evidence(
                            category=category,
                            score=value,
                            start=ostart,
                            end=oend,
                            text=norm.original[ostart:oend],
                            rule=f"use-case:{rule.id}",
                            detail=rule.description
                            + (
                                " (named as information, no stated intent: capped)"
                                if capped
                                else ""
                            ),
                        )
                    )
            fired.append(rule.id + (" (informational)" if capped else ""))
        explanation = (
            f"{self.name}: " + ", ".join(fired)
            if fired
            else f"{self.name}: no use-case rule matched"
        )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=scores,
            evidence=tuple(evidence),
            explanation=explanation,
        )
