"""Packs and verdicts for enforcement tests (built directly; the engine is tested elsewhere)."""

from __future__ import annotations

from aupguard.engine.verdict import ClauseHit, DetectorRun, Verdict
from aupguard.policy.models import (
    Action,
    Clause,
    EnforcementStep,
    LadderStep,
    Modality,
    PolicyPack,
    Surface,
)

LADDER_PACK = PolicyPack(
    id="ladder-test",
    name="Ladder test",
    version="1.0.0",
    clauses=(
        Clause(
            id="nsfw",
            title="No NSFW",
            quote="No sexual content.",
            surface=Surface.CONTENT,
            categories=("sexual",),
            action=Action.BLOCK,
            ladder_weight=1,
        ),
        Clause(
            id="csam",
            title="No CSAM",
            quote="No sexual content involving minors.",
            surface=Surface.CONTENT,
            categories=("sexual/minors",),
            action=Action.BLOCK,
            ladder_weight=100,
        ),
    ),
    enforcement=(
        EnforcementStep(id="warn", step=LadderStep.WARNING, quote="We may warn you."),
        EnforcementStep(
            id="suspend",
            step=LadderStep.TEMPORARY_SUSPENSION,
            quote="Temporary suspension.",
            duration_days=3,
        ),
        EnforcementStep(id="ban", step=LadderStep.PERMANENT_BAN, quote="Permanent suspension."),
        EnforcementStep(
            id="forfeit",
            step=LadderStep.CREDIT_FORFEITURE,
            quote="Forfeiture of remaining credits without refund.",
        ),
        EnforcementStep(
            id="report",
            step=LadderStep.REPORT_TO_AUTHORITIES,
            quote="We will report CSAM to the appropriate authorities.",
            categories=("sexual/minors",),
        ),
    ),
)


def verdict(
    category: str,
    action: Action = Action.BLOCK,
    *,
    weight: int = 1,
    clause_id: str = "nsfw",
    pack: PolicyPack = LADDER_PACK,
) -> Verdict:
    hit = ClauseHit(
        pack_id=pack.id,
        pack_version=pack.version,
        clause_id=clause_id,
        title="t",
        quote="q",
        surface=Surface.CONTENT,
        category=category,
        score=0.97,
        review_threshold=0.5,
        block_threshold=0.8,
        action=action,
        ladder_weight=weight,
    )
    return Verdict(
        action=action,
        pack_id=pack.id,
        pack_version=pack.version,
        modality=Modality.PROMPT,
        clauses=(hit,),
        detectors=(DetectorRun(name="lexicon", version="1", elapsed_ms=1.0),),
    )


def allowed() -> Verdict:
    return Verdict(
        action=Action.ALLOW,
        pack_id=LADDER_PACK.id,
        pack_version=LADDER_PACK.version,
        modality=Modality.PROMPT,
    )
