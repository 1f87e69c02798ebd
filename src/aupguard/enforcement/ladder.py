"""The ladder: a blocked verdict and the account's standing in, a strike and the steps to
take out. Pure: nothing here reads or writes the store."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from aupguard.enforcement.actions import ActionKind, EnforcementAction
from aupguard.enforcement.settings import LadderSettings
from aupguard.engine.verdict import ClauseHit, Verdict
from aupguard.policy.models import Action, EnforcementStep, LadderStep, PolicyPack

# used when a pack names no enforcement steps at all
DEFAULT_STEPS = (
    EnforcementStep(
        id="default-warning", step=LadderStep.WARNING, quote="aupguard default ladder: a warning"
    ),
    EnforcementStep(
        id="default-suspension",
        step=LadderStep.TEMPORARY_SUSPENSION,
        quote="aupguard default ladder: a temporary suspension",
    ),
    EnforcementStep(
        id="default-ban",
        step=LadderStep.PERMANENT_BAN,
        quote="aupguard default ladder: a permanent ban",
    ),
)


class Standing(BaseModel):
    """What the ladder needs to know about an account before a new strike."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    active_points: int = 0
    suspensions_in_window: int = 0
    banned: bool = False
    suspended_until: dt.datetime | None = None


class StrikeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pack_id: str
    pack_version: str
    clause_id: str
    category: str
    weight: int


class LadderPlan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    strike: StrikeSpec | None
    actions: tuple[EnforcementAction, ...]
    points_after: int


def steps_of(pack: PolicyPack) -> dict[LadderStep, EnforcementStep]:
    """The first step of each kind the pack names (or the default ladder)."""
    out: dict[LadderStep, EnforcementStep] = {}
    for step in pack.enforcement or DEFAULT_STEPS:
        out.setdefault(step.step, step)
    return out


def heaviest_block(verdict: Verdict) -> ClauseHit | None:
    blocking = [h for h in verdict.clauses if h.action is Action.BLOCK]
    return max(blocking, key=lambda h: (h.ladder_weight, h.score), default=None)


def _applies(step: EnforcementStep, category: str) -> bool:
    return not step.categories or category in step.categories


def plan_strike(
    pack: PolicyPack,
    verdict: Verdict,
    account_id: str,
    standing: Standing,
    settings: LadderSettings,
) -> LadderPlan:
    """One strike per blocked item, weighted by the heaviest blocking clause; then the
    strictest ladder step the new points reach. Verdicts that are not blocks, and clauses of
    weight 0, give nothing."""
    hit = heaviest_block(verdict)
    if verdict.action is not Action.BLOCK or hit is None or hit.ladder_weight <= 0:
        return LadderPlan(strike=None, actions=(), points_after=standing.active_points)
    strike = StrikeSpec(
        pack_id=hit.pack_id,
        pack_version=hit.pack_version,
        clause_id=hit.clause_id,
        category=hit.category,
        weight=hit.ladder_weight,
    )
    points = standing.active_points + hit.ladder_weight
    steps = {k: s for k, s in steps_of(pack).items() if _applies(s, hit.category)}
    cited = f"{hit.citation} ({hit.category}, score {hit.score:.2f})"

    def action(kind: LadderStep, reason: str, **extra: object) -> EnforcementAction:
        step = steps[kind]
        return EnforcementAction(
            kind=ActionKind(kind.value),
            account_id=account_id,
            step_id=step.id,
            pack_id=pack.id,
            pack_version=pack.version,
            clause_id=hit.clause_id,
            category=hit.category,
            reason=f"{reason}: {cited}; the policy: “{step.quote}”",
            **extra,
        )

    actions: list[EnforcementAction] = []
    if LadderStep.CONTENT_REMOVAL in steps:
        actions.append(action(LadderStep.CONTENT_REMOVAL, "content removed"))
    if standing.banned:
        return LadderPlan(strike=strike, actions=tuple(actions), points_after=points)

    ban = (
        hit.ladder_weight >= settings.ban_at
        or points >= settings.ban_at
        or (
            points >= settings.suspension_at
            and standing.suspensions_in_window >= settings.ban_after_suspensions
        )
    )
    if ban and LadderStep.PERMANENT_BAN in steps:
        actions.append(action(LadderStep.PERMANENT_BAN, f"permanent ban at {points} strike points"))
        if LadderStep.CREDIT_FORFEITURE in steps:
            actions.append(action(LadderStep.CREDIT_FORFEITURE, "remaining credits forfeited"))
    elif (ban or points >= settings.suspension_at) and (LadderStep.TEMPORARY_SUSPENSION in steps):
        if standing.suspended_until is None:
            step = steps[LadderStep.TEMPORARY_SUSPENSION]
            days = step.duration_days or settings.default_suspension_days
            actions.append(
                action(
                    LadderStep.TEMPORARY_SUSPENSION,
                    f"suspended for {days} days at {points} strike points",
                    duration=dt.timedelta(days=days),
                )
            )
    elif points >= settings.warning_at:
        for kind in (LadderStep.WARNING, LadderStep.REQUEST_CHANGES):
            if kind in steps:
                actions.append(action(kind, f"warning at {points} strike points"))
                break
    return LadderPlan(strike=strike, actions=tuple(actions), points_after=points)
