"""Questions about packs: which clauses can be enforced yet, and where two packs differ."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aupguard.policy.models import Action, Clause, PolicyPack, Surface
from aupguard.policy.taxonomy import load_taxonomy


class Enforcement(StrEnum):
    ENFORCED = "enforced"  # every category has a detector (or the clause's own examples do)
    PARTIAL = "partial"  # some categories have a detector
    NOT_YET = "not yet"  # none do (e.g. behaviour clauses before the abuse detectors exist)
    RECORDED = "recorded"  # no categories: an obligation recorded for later layers


def clause_enforcement(clause: Clause, covered: set[str]) -> Enforcement:
    cats = set(clause.categories)
    if clause.examples is not None:
        # the few-shot matcher enforces the clause from its examples in any case
        return Enforcement.ENFORCED
    if not cats:
        return Enforcement.RECORDED
    have = cats & covered
    if have == cats:
        return Enforcement.ENFORCED
    return Enforcement.PARTIAL if have else Enforcement.NOT_YET


@dataclass(frozen=True, slots=True)
class CategoryRule:
    """How a pack decides one category: the strictest clause that names it."""

    action: Action
    review: float | None
    block: float | None
    clause_ids: tuple[str, ...]

    def describe(self) -> str:
        if self.action is Action.ALLOW:
            return "allowed (no clause)"
        parts = []
        review_below_block = self.block is None or (
            self.review is not None and self.review < self.block
        )
        if self.review is not None and review_below_block and self.action is not Action.REVIEW:
            parts.append(f"review ≥ {self.review:g}")
        start = (
            self.review if self.action is Action.REVIEW and self.review is not None else self.block
        )
        if start is not None:
            parts.append(f"{self.action.value} ≥ {start:g}")
        return f"{', '.join(parts)} (§{', §'.join(self.clause_ids)})"


_NO_RULE = CategoryRule(Action.ALLOW, None, None, ())


def category_rules(pack: PolicyPack) -> dict[str, CategoryRule]:
    """Per category, the strictest action any content/use-case/obligation clause applies and
    the lowest thresholds at which it starts to act."""
    rules: dict[str, CategoryRule] = {}
    for clause in pack.clauses:
        if clause.surface is Surface.BEHAVIOUR:
            continue
        for cat in clause.categories:
            t = pack.thresholds_for(clause, cat)
            rule = CategoryRule(clause.action, t.review, t.block, (clause.id,))
            old = rules.get(cat)
            if old is None:
                rules[cat] = rule
                continue
            stricter = max(old, rule, key=lambda r: (r.action.severity, -(r.block or 1.0)))
            rules[cat] = CategoryRule(
                action=stricter.action,
                review=_min(old.review, rule.review),
                block=stricter.block,
                clause_ids=tuple(dict.fromkeys((*stricter.clause_ids, *old.clause_ids, clause.id))),
            )
    return rules


def _min(a: float | None, b: float | None) -> float | None:
    vals = [v for v in (a, b) if v is not None]
    return min(vals) if vals else None


@dataclass(frozen=True, slots=True)
class CategoryDifference:
    category: str
    left: CategoryRule
    right: CategoryRule


def diff_packs(left: PolicyPack, right: PolicyPack) -> list[CategoryDifference]:
    """Categories the two packs decide differently (action or thresholds)."""
    lrules, rrules = category_rules(left), category_rules(right)
    out = []
    for cat in load_taxonomy().ids():
        lr, rr = lrules.get(cat, _NO_RULE), rrules.get(cat, _NO_RULE)
        if (lr.action, lr.review, lr.block) != (rr.action, rr.review, rr.block):
            out.append(CategoryDifference(cat, lr, rr))
    return out


def behaviour_categories(pack: PolicyPack) -> set[str]:
    return {c for cl in pack.clauses if cl.surface is Surface.BEHAVIOUR for c in cl.categories}
