"""The behaviour-detector interface. A detector reads one request in its context (recent
requests, linked accounts, plan, age attestation) and returns a ``DetectorResult`` in the
shared taxonomy, so the engine decides behaviour with the pack's clauses exactly as it
decides content.

Scores: a detector's score reaches 0.8 (the packs' default block threshold) when what it
observes reaches its threshold (``scaled``), so a pack moves the point of review or block
per category with the clause's ``thresholds``, and the detector settings say what counts."""

from __future__ import annotations

from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from aupguard.abuse.history import Recent, RequestEvent
from aupguard.detectors.base import DetectorResult, Evidence
from aupguard.store.records import AccountLink, AgeAttestation, IdentifierKind, Plan

STRONG_LINKS = frozenset({IdentifierKind.EMAIL, IdentifierKind.DEVICE, IdentifierKind.PAYMENT})
AT_THRESHOLD = 0.8


def scaled(observed: float, threshold: float) -> float:
    """0.8 at the threshold, proportionally below it, capped at 1."""
    if threshold <= 0:
        return 1.0 if observed > 0 else 0.0
    return round(min(1.0, AT_THRESHOLD * observed / threshold), 4)


class BehaviourContext(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event: RequestEvent
    recent: Recent
    links: tuple[AccountLink, ...] = ()
    banned_accounts: frozenset[str] = frozenset()  # among ``links``
    linked_counts: dict[str, int] = {}  # requests per linked account in the rate window
    plan: Plan | None = None
    age: AgeAttestation | None = None
    minimum_age: int | None = None
    parental_consent_allowed: bool = False

    def strong_links(self) -> list[AccountLink]:
        return [link for link in self.links if STRONG_LINKS & set(link.shared)]


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BehaviourDetector(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]
    categories: ClassVar[frozenset[str]]
    settings_model: ClassVar[type[Settings]]

    def check(self, ctx: BehaviourContext) -> DetectorResult: ...


def result(
    detector: BehaviourDetector,
    scores: dict[str, float],
    evidence: list[Evidence],
    explanation: str = "",
) -> DetectorResult:
    kept = {c: s for c, s in scores.items() if s > 0}
    return DetectorResult(
        detector=detector.name,
        version=detector.version,
        scores=kept,
        evidence=tuple(e for e in evidence if e.score > 0),
        explanation=explanation if kept else "",
    )


def short(ident: str | None) -> str:
    if not ident:
        return "-"
    return ident if len(ident) <= 12 else f"{ident[:12]}…"
