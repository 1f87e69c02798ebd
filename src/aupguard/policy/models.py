"""Typed models of a policy pack.

Unknown keys are errors: a typo must never silently loosen a policy.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aupguard.policy.taxonomy import load_taxonomy

PACK_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
CLAUSE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Surface(StrEnum):
    """What a clause governs (DESIGN.md, "Four surfaces")."""

    CONTENT = "content"
    BEHAVIOUR = "behaviour"
    USE_CASE = "use-case"
    OBLIGATION = "obligation"


class Modality(StrEnum):
    PROMPT = "prompt"
    NEGATIVE_PROMPT = "negative_prompt"
    INPUT_IMAGE = "input_image"
    OUTPUT_IMAGE = "output_image"
    OUTPUT_TEXT = "output_text"
    ACCOUNT_EVENTS = "account_events"


class Action(StrEnum):
    """Verdict actions, mildest first. ``severity`` orders them; the strictest wins."""

    ALLOW = "allow"
    ALLOW_WITH_DISCLOSURE = "allow_with_disclosure"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def severity(self) -> int:
        return _ACTION_ORDER.index(self)

    @classmethod
    def strictest(cls, actions: list[Action]) -> Action:
        return max(actions, key=lambda a: a.severity, default=cls.ALLOW)


_ACTION_ORDER = [Action.ALLOW, Action.ALLOW_WITH_DISCLOSURE, Action.REVIEW, Action.BLOCK]


class LadderStep(StrEnum):
    """Enforcement steps that packs may name (carried out by the enforcement layer)."""

    REQUEST_CHANGES = "request_changes"
    WARNING = "warning"
    CONTENT_REMOVAL = "content_removal"
    ACCOUNT_RESTRICTION = "account_restriction"
    TEMPORARY_SUSPENSION = "temporary_suspension"
    PERMANENT_BAN = "permanent_ban"
    CREDIT_FORFEITURE = "credit_forfeiture"
    REPORT_TO_AUTHORITIES = "report_to_authorities"
    LEGAL_ACTION = "legal_action"


class ObligationKind(StrEnum):
    """What must accompany an allowed output, carried out by the provenance layer
    (``aupguard.provenance``). Named on clauses of surface ``obligation``."""

    WATERMARK = "watermark"  # invisible watermark with operator, generation and time
    PROVENANCE_MANIFEST = "provenance_manifest"  # signed C2PA manifest (c2pa.created)
    AI_DISCLOSURE = "ai_disclosure"  # "AI-generated": text, HTTP headers, IPTC/XMP metadata
    HUMAN_REVIEW = "human_review"  # held until a qualified human approves its release


class FailureMode(StrEnum):
    """What a surface does when a detector or the store fails. Closed is the default."""

    CLOSED_BLOCK = "block"
    CLOSED_REVIEW = "review"
    OPEN = "allow"


Score = Annotated[float, Field(ge=0.0, le=1.0)]


class Thresholds(BaseModel):
    """Scores at or above ``block`` apply the clause's action; between ``review`` and ``block``
    the item goes to review (or the clause's action, if milder)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    review: Score | None = None
    block: Score | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review is not None and self.block is not None and self.review > self.block:
            raise ValueError(
                f"review threshold {self.review} is above block threshold {self.block}; "
                "review must be <= block"
            )
        return self


class Examples(BaseModel):
    """Few-shot examples for a clause: paraphrases of what it forbids, and look-alikes it allows.
    The engine enforces them by nearest neighbour in the embedding space (``engine/examples.py``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    violating: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _usable(self) -> Examples:
        if not self.violating:
            raise ValueError("examples need at least one violating example")
        for text in (*self.violating, *self.allowed):
            if not text.strip():
                raise ValueError("an example is empty")
        both = set(self.violating) & set(self.allowed)
        if both:
            raise ValueError(f"an example is both violating and allowed: {sorted(both)[0]!r}")
        return self


# Example scores at or above ``review`` go to review, at or above ``block`` take the clause's
# action, unless the clause sets ``example_thresholds`` (calibration: engine/examples.py).
DEFAULT_EXAMPLE_THRESHOLDS = Thresholds(review=0.5, block=0.75)


def _check_category(value: str) -> str:
    if value not in load_taxonomy():
        known = ", ".join(load_taxonomy().ids())
        raise ValueError(f"unknown category {value!r}; known categories: {known}")
    return value


class Clause(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=CLAUSE_ID_PATTERN)]
    title: str
    quote: Annotated[str, Field(min_length=1, max_length=600)]
    surface: Surface
    categories: tuple[str, ...] = ()
    modalities: tuple[Modality, ...] = ()
    thresholds: dict[str, Thresholds] = Field(default_factory=dict)
    action: Action
    ladder_weight: Annotated[int, Field(ge=0, le=100)] = 1
    examples: Examples | None = None
    # thresholds for the example score (default DEFAULT_EXAMPLE_THRESHOLDS)
    example_thresholds: Thresholds | None = None
    disclosure: str | None = None
    # what the provenance layer must do to an output this clause covers (surface obligation)
    obligations: tuple[ObligationKind, ...] = ()
    notes: str | None = None

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cat in value:
            _check_category(cat)
        if len(set(value)) != len(value):
            raise ValueError("a category is listed twice")
        return value

    @model_validator(mode="after")
    def _thresholds_for_own_categories(self) -> Clause:
        for cat in self.thresholds:
            _check_category(cat)
            if cat not in self.categories:
                raise ValueError(
                    f"threshold for {cat!r}, which is not among this clause's categories"
                )
        if self.surface is Surface.CONTENT and not self.categories and not self.examples:
            raise ValueError("a content clause needs categories or examples to enforce it")
        if self.example_thresholds is not None and self.examples is None:
            raise ValueError("example_thresholds without examples to score")
        if self.obligations and self.surface is not Surface.OBLIGATION:
            raise ValueError("obligations belong on clauses of surface `obligation`")
        if len(set(self.obligations)) != len(self.obligations):
            raise ValueError("an obligation is listed twice")
        return self


class ClauseOverride(BaseModel):
    """What an extending pack may change in an inherited clause."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: dict[str, Thresholds] | None = None
    action: Action | None = None
    ladder_weight: Annotated[int, Field(ge=0, le=100)] | None = None
    modalities: tuple[Modality, ...] | None = None
    examples: Examples | None = None  # replaces the inherited examples as a whole
    example_thresholds: Thresholds | None = None
    disclosure: str | None = None
    obligations: tuple[ObligationKind, ...] | None = None


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    seed: str | None = None
    url: str | None = None
    organisation: str | None = None


class EnforcementStep(BaseModel):
    """A penalty or remedy the policy names, quoted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=CLAUSE_ID_PATTERN)]
    step: LadderStep
    quote: Annotated[str, Field(min_length=1, max_length=600)]
    duration_days: Annotated[int, Field(ge=1)] | None = None
    # empty: the step may follow any violation; else only violations in these categories
    categories: tuple[str, ...] = ()
    condition: str | None = None  # the policy's own words for when it applies

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cat in value:
            _check_category(cat)
        return value


class ReportingChannel(BaseModel):
    """Where people report violations, as the policy states it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=CLAUSE_ID_PATTERN)]
    kind: str = Field(pattern=r"^(email|url|in-product|authorities|unspecified)$")
    address: str | None = None
    quote: Annotated[str, Field(min_length=1, max_length=600)]


class Defaults(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: Thresholds = Thresholds(review=0.5, block=0.8)
    failure_mode: dict[Surface, FailureMode] = Field(
        default_factory=lambda: {
            Surface.CONTENT: FailureMode.CLOSED_BLOCK,
            Surface.BEHAVIOUR: FailureMode.CLOSED_REVIEW,
            Surface.USE_CASE: FailureMode.CLOSED_REVIEW,
            Surface.OBLIGATION: FailureMode.CLOSED_REVIEW,
        }
    )
    minimum_age: Annotated[int, Field(ge=0, le=99)] | None = None
    # below the minimum age, use is allowed with a parent's or guardian's consent
    parental_consent_below_minimum: bool = False
    # the local legal minimum applies where it is higher than minimum_age
    local_minimum_if_higher: bool = False
    # parameters of the behaviour detectors, {detector: {setting: value}}, e.g.
    # {"abuse.key_sharing": {"networks": 12}}; checked against the detectors' typed settings
    # by aupguard.abuse.detectors.BehaviourSettings when a Guard is built (unknown names or
    # settings are errors there, never ignored)
    behaviour: dict[
        Annotated[str, Field(pattern=r"^abuse\.[a-z_]{1,40}$")], dict[str, float | int | bool]
    ] = Field(default_factory=dict)


class PolicyPack(BaseModel):
    """A pack as written in YAML. ``extends`` packs are resolved by the loader."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=PACK_ID_PATTERN)]
    name: str
    version: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)?([-+][0-9A-Za-z.-]+)?$")]
    effective_date: dt.date | None = None
    source: Source | None = None
    extends: Annotated[str, Field(pattern=PACK_ID_PATTERN)] | None = None
    description: str | None = None
    defaults: Defaults = Defaults()
    clauses: tuple[Clause, ...] = ()
    overrides: dict[str, ClauseOverride] = Field(default_factory=dict)
    remove_clauses: tuple[str, ...] = ()
    enforcement: tuple[EnforcementStep, ...] = ()
    reporting: tuple[ReportingChannel, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> PolicyPack:
        for label, ids in (
            ("clause", [c.id for c in self.clauses]),
            ("enforcement step", [e.id for e in self.enforcement]),
            ("reporting channel", [r.id for r in self.reporting]),
        ):
            seen: set[str] = set()
            for i in ids:
                if i in seen:
                    raise ValueError(f"{label} id {i!r} appears twice")
                seen.add(i)
        if self.extends is None and (self.overrides or self.remove_clauses):
            raise ValueError("overrides and remove_clauses need `extends` (a pack to change)")
        if self.extends == self.id:
            raise ValueError(f"pack {self.id!r} extends itself")
        return self

    def clause(self, clause_id: str) -> Clause:
        for c in self.clauses:
            if c.id == clause_id:
                return c
        raise KeyError(clause_id)

    def thresholds_for(self, clause: Clause, category: str) -> Thresholds:
        """The clause's own thresholds for a category, filled from the pack defaults."""
        own = clause.thresholds.get(category)
        base = self.defaults.thresholds
        if own is None:
            return base
        block = own.block if own.block is not None else base.block
        review = own.review if own.review is not None else base.review
        if review is not None and block is not None and review > block:
            review = block  # an own block threshold below the default review one wins
        return Thresholds(review=review, block=block)

    def example_thresholds_for(self, clause: Clause) -> Thresholds:
        """The clause's thresholds for its example score, filled from
        DEFAULT_EXAMPLE_THRESHOLDS."""
        own = clause.example_thresholds or Thresholds()
        base = DEFAULT_EXAMPLE_THRESHOLDS
        block = own.block if own.block is not None else base.block
        review = own.review if own.review is not None else base.review
        if review is not None and block is not None and review > block:
            review = block
        return Thresholds(review=review, block=block)
