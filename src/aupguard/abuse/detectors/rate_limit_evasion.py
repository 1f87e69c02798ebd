"""``abuse/rate-limit-evasion``: a cluster of strongly linked accounts whose summed request
rate exceeds what the plan allows one account."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, scaled, short
from aupguard.detectors.base import DetectorResult, Evidence

CATEGORY = "abuse/rate-limit-evasion"


class RateLimitEvasionSettings(Settings):
    window_seconds: Annotated[float, Field(gt=0)] = 60
    # the cluster's summed rate, as a multiple of the plan's per-account rate
    plan_multiple: Annotated[float, Field(gt=0)] = 1.5


class RateLimitEvasionDetector:
    name: ClassVar[str] = "abuse.rate_limit_evasion"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = RateLimitEvasionSettings

    def __init__(self, settings: RateLimitEvasionSettings | None = None):
        self.settings = settings or RateLimitEvasionSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        strong = ctx.strong_links()
        if ctx.plan is None or not strong:
            return result(self, {}, [])
        s = self.settings
        since = ctx.event.at.timestamp() - s.window_seconds
        own = sum(1 for e in ctx.recent.by_account if e.at.timestamp() >= since)
        others = sum(ctx.linked_counts.get(link.account_id, 0) for link in strong)
        rate = (own + others) / s.window_seconds
        multiple = rate / ctx.plan.rate_per_second
        score = scaled(multiple, s.plan_multiple) if others else 0.0
        evidence = [
            Evidence(
                category=CATEGORY,
                score=score,
                rule="cluster-rate",
                detail=f"{len(strong) + 1} linked accounts around {short(ctx.event.account_id)} made "
                f"{own + others} requests in {s.window_seconds:g} s ({rate:.2f}/s, "
                f"{multiple:.1f}x the plan's {ctx.plan.rate_per_second:g}/s per account)",
            )
        ]
        return result(self, {CATEGORY: score}, evidence, "linked accounts pooling limits")
