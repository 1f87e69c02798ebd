"""Propose per-category thresholds for a pack from labelled records, at a target false-positive
rate, and render them as an operator pack that extends the measured one.

For every category the pack's clauses use, the records are scored once with the moderator
(``verdict.scores[category]``; a category the detectors did not score counts as 0, which never
fires). The **block** threshold is the lowest one whose false-positive rate on the benign
records (``flagged=False``) is at most ``target_fpr``; the **review** threshold is the same for
a looser rate (``review_factor`` × the target, 3× by default). A category with fewer than
``min_positives`` records labelled with it (1 by default) gets no proposal: the benign records
alone only say how far a threshold could drop, not what that would catch. Every threshold
between the highest benign score that must stay below it and the next score seen in the data
gives the same result on these records, so the proposal sits midway in that gap, which leaves
a margin on both sides for scores the data did not show.

Each proposal reports, at both thresholds, the false-positive rate reached, the recall on the
records labelled with that category, and the share of all flagged records the category alone
catches (its "flagged recall"), next to the same figures at the pack's current block
threshold. Rates are per category: a benign record may trip several categories, so the pack as
a whole flags more than any one category does (``combined_operating_point`` measures that).

Measure on a dev file the detectors were not trained on, with enough benign records for the
target to mean something: at 1%, 100 benign records allow exactly one false positive.

    from aupguard.engine.moderator import Moderator
    from aupguard.evaluation import read_records
    from aupguard.policy.registry import default_registry

    moderator = Moderator(default_registry().get("general-usage"))
    proposals = propose_thresholds(moderator, read_records(Path("dev.jsonl")), target_fpr=0.01)
    print(format_proposals(proposals))
    Path("general-usage-tuned.yaml").write_text(
        proposal_as_override_yaml(proposals, "general-usage")
    )
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from aupguard.engine.moderator import Moderator, validate_text
from aupguard.errors import InputError
from aupguard.evaluation import EvalRecord
from aupguard.policy.models import Clause, Modality, PolicyPack, Surface
from aupguard.policy.taxonomy import load_taxonomy

__all__ = [
    "OperatingPoint",
    "Proposal",
    "ScoredRecords",
    "combined_operating_point",
    "format_proposals",
    "proposal_as_override_yaml",
    "propose_from_scores",
    "propose_thresholds",
    "score_records",
]

BATCH = 256
DEFAULT_REVIEW_FACTOR = 3.0

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """What one threshold does on the measured records (``score >= threshold`` fires)."""

    threshold: float | None  # None: no threshold meets the target with any recall here
    fpr: float | None  # false positives / benign records (None: no benign records)
    false_positives: int
    recall: float | None  # among records labelled with the category (None: there are none)
    flagged_recall: float | None  # among all flagged records, whatever their categories


@dataclass(frozen=True, slots=True)
class Proposal:
    """Proposed review and block thresholds for one category of a pack."""

    category: str
    clause_ids: tuple[str, ...]  # the pack's clauses that use the category
    target_fpr: float
    review_target_fpr: float
    block: OperatingPoint
    review: OperatingPoint
    current: OperatingPoint  # at the lowest block threshold the pack now has for it
    n_benign: int
    n_positive: int  # records whose categories include this one
    n_flagged: int
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ScoredRecords:
    """Labels and per-category scores of the records the moderator could check."""

    flagged: BoolArray
    categories: tuple[frozenset[str], ...]
    scores: dict[str, FloatArray]  # category -> one score per record, 0.0 where absent
    skipped: tuple[str, ...]  # records the moderator refused (empty, too long), with why

    def __len__(self) -> int:
        return int(self.flagged.shape[0])

    def score(self, category: str) -> FloatArray:
        return self.scores.get(category, np.zeros(len(self), dtype=np.float64))

    def labelled(self, category: str) -> BoolArray:
        return np.fromiter(
            (category in c for c in self.categories), dtype=np.bool_, count=len(self)
        )


def _clause_applies(clause: Clause, modality: Modality) -> bool:
    # the engine's rule (engine.decide): listed modalities, else content-like surfaces
    if clause.modalities:
        return modality in clause.modalities
    if clause.surface is Surface.BEHAVIOUR:
        return modality is Modality.ACCOUNT_EVENTS
    return modality is not Modality.ACCOUNT_EVENTS


def pack_categories(
    pack: PolicyPack, modality: Modality = Modality.PROMPT
) -> dict[str, tuple[str, ...]]:
    """Category -> ids of the clauses that use it, for clauses that apply to ``modality``."""
    taxonomy = load_taxonomy()
    out: dict[str, list[str]] = {}
    for clause in pack.clauses:
        if not _clause_applies(clause, modality):
            continue
        for cat in clause.categories:
            if taxonomy.categories[cat].kind != "modifier":
                out.setdefault(cat, []).append(clause.id)
    return {cat: tuple(ids) for cat, ids in sorted(out.items())}


def score_records(
    moderator: Moderator,
    records: Iterable[EvalRecord],
    *,
    modality: Modality = Modality.PROMPT,
) -> ScoredRecords:
    """Check every record once (in batches, so embeddings are computed together) and keep
    its label and every category score. Records the moderator refuses are skipped."""
    flagged: list[bool] = []
    cats: list[frozenset[str]] = []
    rows: list[dict[str, float]] = []
    skipped: list[str] = []
    chunk: list[EvalRecord] = []

    def run(chunk: list[EvalRecord]) -> None:
        usable: list[EvalRecord] = []
        for rec in chunk:
            try:
                validate_text(rec.text, moderator.limits)
            except InputError as exc:
                skipped.append(f"line {rec.line}: {exc}")
                continue
            usable.append(rec)
        verdicts = moderator.check_many([r.text for r in usable], modality)
        for rec, verdict in zip(usable, verdicts, strict=True):
            flagged.append(rec.flagged)
            cats.append(frozenset(rec.categories))
            rows.append(verdict.scores)

    for rec in records:
        chunk.append(rec)
        if len(chunk) == BATCH:
            run(chunk)
            chunk = []
    if chunk:
        run(chunk)

    n = len(rows)
    scores: dict[str, FloatArray] = {}
    for i, row in enumerate(rows):
        for cat, value in row.items():
            if cat not in scores:
                scores[cat] = np.zeros(n, dtype=np.float64)
            scores[cat][i] = value
    return ScoredRecords(
        flagged=np.array(flagged, dtype=np.bool_),
        categories=tuple(cats),
        scores=scores,
        skipped=tuple(skipped),
    )


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _operating_point(
    threshold: float | None,
    score: FloatArray,
    benign: BoolArray,
    positive: BoolArray,
    flagged: BoolArray,
) -> OperatingPoint:
    fires = score >= threshold if threshold is not None else np.zeros_like(benign)
    fp = int(np.count_nonzero(fires & benign))
    return OperatingPoint(
        threshold=threshold,
        fpr=_ratio(fp, int(np.count_nonzero(benign))),
        false_positives=fp,
        recall=_ratio(int(np.count_nonzero(fires & positive)), int(np.count_nonzero(positive))),
        flagged_recall=_ratio(
            int(np.count_nonzero(fires & flagged)), int(np.count_nonzero(flagged))
        ),
    )


def _lowest_threshold(score: FloatArray, benign: BoolArray, target_fpr: float) -> float | None:
    """The lowest threshold (placed midway in its gap) with FPR <= target on the benign
    records, or None when none fires on any record at that rate."""
    n_benign = int(np.count_nonzero(benign))
    if n_benign == 0:
        return None
    allowed = math.floor(target_fpr * n_benign + 1e-9)  # benign records that may fire
    benign_scores = np.sort(score[benign & (score > 0)])[::-1]
    # the highest benign score that must stay below the threshold (0: none needs to)
    floor = float(benign_scores[allowed]) if allowed < benign_scores.size else 0.0
    above = score[score > floor]
    if above.size == 0:
        return None  # nothing scores above it: the category would catch nothing here
    nxt = float(above.min())
    mid = round((floor + nxt) / 2, 4) if floor > 0 else nxt
    # keep it strictly inside (floor, nxt]; a gap narrower than the rounding takes nxt
    return mid if floor < mid <= nxt else nxt


def _validate_fpr(name: str, value: float) -> None:
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value}")


def propose_from_scores(
    scored: ScoredRecords,
    pack: PolicyPack,
    target_fpr: float = 0.01,
    categories: Sequence[str] | None = None,
    *,
    review_factor: float = DEFAULT_REVIEW_FACTOR,
    min_positives: int = 1,
    modality: Modality = Modality.PROMPT,
) -> list[Proposal]:
    """``propose_thresholds`` on records already scored (to try several targets at once)."""
    _validate_fpr("target_fpr", target_fpr)
    if review_factor < 1.0:
        raise ValueError(f"review_factor must be at least 1, got {review_factor}")
    if min_positives < 0:
        raise ValueError(f"min_positives must be at least 0, got {min_positives}")
    review_fpr = min(target_fpr * review_factor, 0.999)
    used = pack_categories(pack, modality)
    if categories is not None:
        unknown = sorted(set(categories) - set(used))
        if unknown:
            raise ValueError(
                f"categories {unknown} are not used by any clause of {pack.id} for {modality}; "
                f"its categories: {', '.join(used)}"
            )
        used = {c: used[c] for c in categories}

    benign = ~scored.flagged
    flagged = scored.flagged
    proposals: list[Proposal] = []
    for cat, clause_ids in used.items():
        score = scored.score(cat)
        positive = scored.labelled(cat)
        n_positive = int(np.count_nonzero(positive))
        block_t = _lowest_threshold(score, benign, target_fpr)
        review_t = _lowest_threshold(score, benign, review_fpr)
        too_few = n_positive < min_positives
        if too_few:
            # with no evidence of what it catches, the lowest threshold the benign records
            # allow is only a loosening: keep what the pack has
            block_t = review_t = None
        current_t = min(
            (
                t.block
                for cid in clause_ids
                if (t := pack.thresholds_for(pack.clause(cid), cat)).block is not None
            ),
            default=None,
        )
        note = None
        if not benign.any():
            note = "no benign records: the false-positive rate cannot be measured"
        elif not (score > 0).any():
            note = "no record scored this category: nothing to set a threshold on"
        elif too_few:
            note = (
                f"{n_positive} record(s) labelled with this category (fewer than "
                f"{min_positives}): its recall cannot be measured; thresholds left as they are"
            )
        elif block_t is None:
            note = (
                f"no threshold keeps the false-positive rate at {target_fpr:.2%} and still "
                "fires on any record here"
            )
        proposals.append(
            Proposal(
                category=cat,
                clause_ids=clause_ids,
                target_fpr=target_fpr,
                review_target_fpr=review_fpr,
                block=_operating_point(block_t, score, benign, positive, flagged),
                review=_operating_point(review_t, score, benign, positive, flagged),
                current=_operating_point(current_t, score, benign, positive, flagged),
                n_benign=int(np.count_nonzero(benign)),
                n_positive=n_positive,
                n_flagged=int(np.count_nonzero(flagged)),
                note=note,
            )
        )
    return proposals


def propose_thresholds(
    moderator: Moderator,
    records: Iterable[EvalRecord],
    target_fpr: float = 0.01,
    categories: Sequence[str] | None = None,
    *,
    review_factor: float = DEFAULT_REVIEW_FACTOR,
    min_positives: int = 1,
    modality: Modality = Modality.PROMPT,
) -> list[Proposal]:
    """For each category of the moderator's pack (or of ``categories``), the lowest block
    threshold with a false-positive rate of at most ``target_fpr`` on the benign records, and a
    review threshold for ``review_factor`` × that rate. See the module docstring."""
    _validate_fpr("target_fpr", target_fpr)
    scored = score_records(moderator, records, modality=modality)
    return propose_from_scores(
        scored,
        moderator.pack.pack,
        target_fpr,
        categories,
        review_factor=review_factor,
        min_positives=min_positives,
        modality=modality,
    )


def combined_operating_point(
    scored: ScoredRecords,
    proposals: Sequence[Proposal],
    which: Literal["block", "review", "current"] = "block",
) -> OperatingPoint:
    """The pack as a whole with these thresholds: a record fires when any category reaches
    its threshold. ``recall`` and ``flagged_recall`` are then the same figure."""
    fires = np.zeros(len(scored), dtype=np.bool_)
    for p in proposals:
        t = getattr(p, which).threshold
        if t is not None:
            fires |= scored.score(p.category) >= t
    benign = ~scored.flagged
    fp = int(np.count_nonzero(fires & benign))
    recall = _ratio(
        int(np.count_nonzero(fires & scored.flagged)), int(np.count_nonzero(scored.flagged))
    )
    return OperatingPoint(
        threshold=None,
        fpr=_ratio(fp, int(np.count_nonzero(benign))),
        false_positives=fp,
        recall=recall,
        flagged_recall=recall,
    )


def _pct(v: float | None, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}%}"


def _thr(v: float | None) -> str:
    return "-" if v is None else f"{v:.4g}"


def format_proposals(proposals: Sequence[Proposal]) -> str:
    """A table for people: per category, current and proposed thresholds with FPR and recall."""
    head = (
        f"{'category':<28} {'n_pos':>6}  {'current':>7} {'fpr':>6} {'recall':>6}  "
        f"{'review':>7} {'fpr':>6} {'recall':>6}  {'block':>7} {'fpr':>6} {'recall':>6} "
        f"{'flagged':>7}"
    )
    lines = [head]
    for p in proposals:
        lines.append(
            f"{p.category[:28]:<28} {p.n_positive:>6}  "
            f"{_thr(p.current.threshold):>7} {_pct(p.current.fpr, 2):>6} {_pct(p.current.recall):>6}  "
            f"{_thr(p.review.threshold):>7} {_pct(p.review.fpr, 2):>6} {_pct(p.review.recall):>6}  "
            f"{_thr(p.block.threshold):>7} {_pct(p.block.fpr, 2):>6} {_pct(p.block.recall):>6} "
            f"{_pct(p.block.flagged_recall):>7}"
        )
        if p.note:
            lines.append(f"  note: {p.note}")
    if proposals:
        p = proposals[0]
        lines.append(
            f"{p.n_benign} benign and {p.n_flagged} flagged records; targets: block FPR "
            f"<= {p.target_fpr:.2%}, review FPR <= {p.review_target_fpr:.2%} per category; "
            "'flagged' = share of all flagged records the category catches at block"
        )
    return "\n".join(lines)


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def proposal_as_override_yaml(
    proposals: Sequence[Proposal],
    pack_id: str,
    *,
    new_id: str | None = None,
    version: str = "1.0.0",
    name: str | None = None,
) -> str:
    """An operator pack that ``extends`` ``pack_id`` and overrides the thresholds of every
    clause that uses a proposed category. Categories without a usable proposal are listed as
    comments and keep their inherited thresholds. Load it with ``PackRegistry.add_file`` or
    ``AUPGUARD_PACK_PATH``."""
    base = pack_id.partition("@")[0]
    pack_new_id = new_id or f"{base[:57].rstrip('-')}-tuned"
    by_clause: dict[str, list[Proposal]] = {}
    left_out: list[Proposal] = []
    for p in proposals:
        if p.block.threshold is None or p.review.threshold is None:
            left_out.append(p)
            continue
        for cid in p.clause_ids:
            by_clause.setdefault(cid, []).append(p)

    lines = [f"# Thresholds proposed by aupguard.thresholds for {base}."]
    if proposals:
        p = proposals[0]
        lines += [
            f"# Measured on {p.n_benign:,} benign and {p.n_flagged:,} flagged records: block at a",
            f"# false-positive rate <= {p.target_fpr:.2%}, review <= {p.review_target_fpr:.2%},"
            " per category",
            "# (together the categories flag more benign records than any one of them).",
        ]
    lines += [
        f"id: {pack_new_id}",
        f"name: {_q(name or f'{base} with proposed thresholds')}",
        f"version: {_q(version)}",
        f"extends: {base}",
    ]
    if by_clause:
        lines.append("overrides:")
        for cid, items in by_clause.items():
            lines += [f"  {_q(cid)}:", "    thresholds:"]
            for p in items:
                lines.append(
                    f"      # {p.category}: block fpr {_pct(p.block.fpr, 2)}, recall "
                    f"{_pct(p.block.recall)} of {p.n_positive}; review fpr {_pct(p.review.fpr, 2)}, "
                    f"recall {_pct(p.review.recall)}"
                )
                lines.append(
                    f"      {_q(p.category)}: {{review: {p.review.threshold}, "
                    f"block: {p.block.threshold}}}"
                )
    else:
        lines.append("overrides: {}")
    for p in left_out:
        lines.append(f"# {p.category} unchanged: {p.note or 'no usable threshold'}")
    return "\n".join(lines) + "\n"
