"""Verdicts in OpenAI's moderation shape, through the taxonomy's ``openai`` mapping."""

from __future__ import annotations

from collections.abc import Sequence

from aupguard.api.schemas import ClauseCitation
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Action
from aupguard.policy.taxonomy import load_taxonomy


def openai_categories_of(category: str) -> tuple[str, ...]:
    found = load_taxonomy().categories.get(category)
    return found.openai if found is not None else ()


def citations(verdict: Verdict) -> list[ClauseCitation]:
    return [
        ClauseCitation(
            clause_id=h.clause_id,
            category=h.category,
            action=h.action.value,
            score=h.score,
            citation=h.citation,
        )
        for h in verdict.clauses
    ]


def openai_fields(
    verdicts: Sequence[tuple[Verdict, str]],
) -> tuple[dict[str, bool], dict[str, float], dict[str, list[str]]]:
    """``categories``, ``category_scores`` and ``category_applied_input_types`` for verdicts on
    the parts of one input (``"text"`` or ``"image"`` each). An OpenAI category is flagged when
    a clause on a taxonomy category mapped to it sent the item to review or blocked it; its
    score is the strongest score of those taxonomy categories."""
    names = load_taxonomy().openai_categories
    flags = dict.fromkeys(names, False)
    scores = dict.fromkeys(names, 0.0)
    applied: dict[str, list[str]] = {n: [] for n in names}
    for verdict, input_type in verdicts:
        for category, score in verdict.scores.items():
            for name in openai_categories_of(category):
                scores[name] = max(scores[name], round(score, 6))
        for hit in verdict.clauses:
            if hit.action not in (Action.REVIEW, Action.BLOCK):
                continue
            for name in openai_categories_of(hit.category):
                flags[name] = True
                if input_type not in applied[name]:
                    applied[name].append(input_type)
    return flags, scores, applied
