"""Signals + pack -> verdict. Pure and deterministic: no I/O, no clocks, no randomness."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aupguard.detectors.base import DetectorResult, Evidence
from aupguard.engine.examples import ExampleScore, example_category
from aupguard.engine.verdict import ClauseHit, CombinationApplied, DetectorRun, Verdict
from aupguard.policy.models import Action, Clause, FailureMode, Modality, PolicyPack, Surface
from aupguard.policy.taxonomy import Taxonomy, load_taxonomy

# Which surface's failure mode applies when a detector fails on content of a modality.
_SURFACE_OF_MODALITY = {m: Surface.CONTENT for m in Modality} | {
    Modality.ACCOUNT_EVENTS: Surface.BEHAVIOUR
}
_FAILURE_ACTION = {
    FailureMode.CLOSED_BLOCK: Action.BLOCK,
    FailureMode.CLOSED_REVIEW: Action.REVIEW,
    FailureMode.OPEN: Action.ALLOW,
}


def merge_scores(results: Sequence[DetectorResult]) -> dict[str, float]:
    """The strongest score any detector gave each category."""
    scores: dict[str, float] = {}
    for result in results:
        for cat, score in result.scores.items():
            if score > scores.get(cat, -1.0):
                scores[cat] = score
    return scores


def apply_combinations(
    scores: dict[str, float], taxonomy: Taxonomy
) -> tuple[dict[str, float], list[CombinationApplied]]:
    """Derive combined categories (sexual + minor => sexual/minors). A conjunction is only as
    sure as its weakest part, so the result gets the smallest of its parts' scores."""
    out = dict(scores)
    applied: list[CombinationApplied] = []
    for rule in taxonomy.combinations:
        parts = {c: scores.get(c, 0.0) for c in rule.all}
        if all(s >= rule.min_score for s in parts.values()):
            combined = min(*parts.values(), rule.max_score)
            applied.append(
                CombinationApplied(rule=rule.id, result=rule.result, score=combined, parts=parts)
            )
            if combined > out.get(rule.result, -1.0):
                out[rule.result] = combined
    return out, applied


def clause_applies(clause: Clause, modality: Modality) -> bool:
    if clause.modalities:
        return modality in clause.modalities
    # no modalities listed: content-like surfaces apply to all content, behaviour to events
    if clause.surface is Surface.BEHAVIOUR:
        return modality is Modality.ACCOUNT_EVENTS
    return modality is not Modality.ACCOUNT_EVENTS


def _action_for(
    clause: Clause, score: float, review: float | None, block: float | None
) -> Action | None:
    if block is not None and score >= block:
        return clause.action
    if review is not None and score >= review:
        # the review band never makes a clause stricter than its own action
        return min(clause.action, Action.REVIEW, key=lambda a: a.severity)
    return None


def _example_hit(pack: PolicyPack, clause: Clause, example: ExampleScore) -> ClauseHit | None:
    """A clause firing on its example score: same bands as a category score, filed under
    ``example_category`` (the clause's first category, else ``clause:<id>``)."""
    t = pack.example_thresholds_for(clause)
    action = _action_for(clause, example.score, t.review, t.block)
    if action is None:
        return None
    return ClauseHit(
        pack_id=pack.id,
        pack_version=pack.version,
        clause_id=clause.id,
        title=clause.title,
        quote=clause.quote,
        surface=clause.surface,
        category=example_category(clause),
        score=round(example.score, 4),
        review_threshold=t.review,
        block_threshold=t.block,
        action=action,
        ladder_weight=clause.ladder_weight,
        disclosure=None if action is Action.BLOCK else clause.disclosure,
    )


def decide(
    pack: PolicyPack,
    results: Sequence[DetectorResult],
    modality: Modality = Modality.PROMPT,
    *,
    lang: str | None = None,
    taxonomy: Taxonomy | None = None,
    example_scores: Mapping[str, ExampleScore] | None = None,
) -> Verdict:
    """``example_scores`` (clause id -> score, from ``ExampleMatcher``) decide clauses with
    examples against their example thresholds; a clause without a score there does not fire on
    its examples (the moderator records an error, so the failure mode applies, when it could
    not compute them)."""
    taxonomy = taxonomy or load_taxonomy()
    scores, combinations = apply_combinations(merge_scores(results), taxonomy)

    hits: list[ClauseHit] = []
    example_evidence: list[Evidence] = []
    for clause in pack.clauses:
        if not clause_applies(clause, modality):
            continue
        example = (example_scores or {}).get(clause.id) if clause.examples else None
        if example is not None:
            hit = _example_hit(pack, clause, example)
            if hit is not None:
                hits.append(hit)
                example_evidence.append(
                    Evidence(
                        category=hit.category,
                        score=hit.score,
                        rule=f"examples:{clause.id}",
                        detail=example.describe(),
                    )
                )
        for cat in clause.categories:
            score = scores.get(cat)
            if score is None:
                continue
            t = pack.thresholds_for(clause, cat)
            action = _action_for(clause, score, t.review, t.block)
            if action is None:
                continue
            hits.append(
                ClauseHit(
                    pack_id=pack.id,
                    pack_version=pack.version,
                    clause_id=clause.id,
                    title=clause.title,
                    quote=clause.quote,
                    surface=clause.surface,
                    category=cat,
                    score=round(score, 4),
                    review_threshold=t.review,
                    block_threshold=t.block,
                    action=action,
                    ladder_weight=clause.ladder_weight,
                    # what must accompany the output once released (now, or after review)
                    disclosure=None if action is Action.BLOCK else clause.disclosure,
                )
            )

    errors = tuple(sorted(f"{r.detector}: {r.error}" for r in results if r.error))
    actions = [h.action for h in hits]
    if errors:
        mode = pack.defaults.failure_mode.get(
            _SURFACE_OF_MODALITY[modality], FailureMode.CLOSED_BLOCK
        )
        actions.append(_FAILURE_ACTION[mode])

    hits.sort(key=lambda h: (-h.action.severity, -h.score, h.clause_id, h.category))
    evidence: list[Evidence] = [e for r in results for e in r.evidence] + example_evidence
    evidence.sort(key=lambda e: (e.start if e.start is not None else -1, -e.score, e.category))
    disclosures = tuple(dict.fromkeys(h.disclosure for h in hits if h.disclosure))
    return Verdict(
        action=Action.strictest(actions),
        pack_id=pack.id,
        pack_version=pack.version,
        modality=modality,
        clauses=tuple(hits),
        scores={k: round(v, 4) for k, v in sorted(scores.items())},
        evidence=tuple(evidence),
        combinations=tuple(combinations),
        detectors=tuple(
            DetectorRun(name=r.detector, version=r.version, elapsed_ms=r.elapsed_ms, error=r.error)
            for r in sorted(results, key=lambda r: r.detector)
        ),
        errors=errors,
        disclosures=disclosures,
        lang=lang,
    )
