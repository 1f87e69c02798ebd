"""The verdict: what the engine decided about one item, and why."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from aupguard.detectors.base import Evidence
from aupguard.policy.models import Action, Modality, Surface


class ClauseHit(BaseModel):
    """One clause that fired on one category, with the score against its thresholds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pack_id: str
    pack_version: str
    clause_id: str
    title: str
    quote: str
    surface: Surface
    category: str
    score: float
    review_threshold: float | None
    block_threshold: float | None
    action: Action
    ladder_weight: int
    disclosure: str | None = None

    @property
    def citation(self) -> str:
        return f"{self.pack_id}@{self.pack_version} §{self.clause_id}"


class DetectorRun(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: str
    elapsed_ms: float
    error: str | None = None


class CombinationApplied(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    result: str
    score: float
    parts: dict[str, float]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Action
    pack_id: str
    pack_version: str
    modality: Modality
    clauses: tuple[ClauseHit, ...] = ()
    scores: dict[str, float] = Field(default_factory=dict)
    evidence: tuple[Evidence, ...] = ()
    combinations: tuple[CombinationApplied, ...] = ()
    detectors: tuple[DetectorRun, ...] = ()
    errors: tuple[str, ...] = ()
    disclosures: tuple[str, ...] = ()
    lang: str | None = None

    @property
    def flagged(self) -> bool:
        return self.action in (Action.REVIEW, Action.BLOCK)

    @property
    def categories(self) -> list[str]:
        """Categories of the clauses that fired, strictest first, without repeats."""
        seen: dict[str, None] = {}
        for hit in sorted(self.clauses, key=lambda h: -h.action.severity):
            seen.setdefault(hit.category, None)
        return list(seen)

    def summary(self) -> str:
        if not self.clauses:
            return f"{self.action.value}: no clause of {self.pack_id}@{self.pack_version} applies"
        cited = ", ".join(
            f"§{h.clause_id} {h.category} {h.score:.2f}"
            for h in self.clauses
            if h.action == self.action
        )
        return f"{self.action.value}: {cited}"
