"""Helpers for the review tests: verdicts built from the engine's typed models (text prompts
only) and reviewer accounts."""

from __future__ import annotations

from aupguard.detectors.base import Evidence
from aupguard.engine.verdict import ClauseHit, Verdict
from aupguard.policy.models import Action, Modality, Surface
from aupguard.review import ReviewDesk, Reviewer, Role

PASSWORD = "correct horse battery staple"


def make_verdict(
    category: str = "violence",
    score: float = 0.7,
    action: Action = Action.REVIEW,
    *,
    span: tuple[int, int] | None = (0, 4),
    region: tuple[int, int, int, int] | None = None,
    pack: str = "general-usage",
) -> Verdict:
    hit = ClauseHit(
        pack_id=pack,
        pack_version="1.0.0",
        clause_id="2.1",
        title="No violent threats",
        quote="Do not threaten violence against real people.",
        surface=Surface.CONTENT,
        category=category,
        score=score,
        review_threshold=0.5,
        block_threshold=0.9,
        action=action,
        ladder_weight=1,
    )
    evidence = Evidence(
        category=category,
        score=score,
        start=span[0] if span else None,
        end=span[1] if span else None,
        rule="test-rule",
        region=region,
    )
    return Verdict(
        action=action,
        pack_id=pack,
        pack_version="1.0.0",
        modality=Modality.PROMPT,
        clauses=(hit,),
        scores={category: score},
        evidence=(evidence,),
        lang="en",
    )


def reviewer(desk: ReviewDesk, name: str, *roles: Role) -> Reviewer:
    return desk.add_reviewer(name, PASSWORD, roles or (Role.REVIEWER,), actor="test")
