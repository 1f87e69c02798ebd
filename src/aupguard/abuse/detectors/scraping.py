"""``abuse/scraping``: mass generation by a machine: a cadence too regular for a person, or
a volume far above the account's own history."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from typing import Annotated, ClassVar

from pydantic import Field

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, scaled, short
from aupguard.detectors.base import DetectorResult, Evidence

CATEGORY = "abuse/scraping"


class ScrapingSettings(Settings):
    window_minutes: Annotated[float, Field(gt=0)] = 60
    min_requests: Annotated[int, Field(ge=3)] = 30
    # coefficient of variation of the gaps between requests at or below which the cadence is
    # machine-regular (people are bursty: their CV is near or above 1)
    max_cadence_cv: Annotated[float, Field(gt=0)] = 0.15
    # this hour's requests as a multiple of the account's average hour
    volume_multiple: Annotated[float, Field(gt=1)] = 10
    baseline_min_hours: Annotated[int, Field(ge=1)] = 24


class ScrapingDetector:
    name: ClassVar[str] = "abuse.scraping"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = ScrapingSettings

    def __init__(self, settings: ScrapingSettings | None = None):
        self.settings = settings or ScrapingSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        s = self.settings
        since = ctx.event.at - dt.timedelta(minutes=s.window_minutes)
        # sorted: workers sharing a Redis history may append slightly out of order
        times = sorted(e.at.timestamp() for e in ctx.recent.by_account if e.at >= since)
        evidence: list[Evidence] = []
        cadence_score = 0.0
        if len(times) >= s.min_requests:
            gaps = [b - a for a, b in itertools.pairwise(times)]
            mean = statistics.fmean(gaps)
            cv = statistics.pstdev(gaps) / mean if mean > 0 else float("inf")
            if cv <= s.max_cadence_cv:
                cadence_score = scaled(1.0, 1.0)
                evidence.append(
                    Evidence(
                        category=CATEGORY,
                        score=cadence_score,
                        rule="cadence",
                        detail=f"account {short(ctx.event.account_id)}: {len(times)} requests every "
                        f"{mean:.2f} s ± {cv:.0%} in {s.window_minutes:g} min (machine-regular)",
                    )
                )
        volume_score = 0.0
        hour = int(ctx.event.at.timestamp() // 3600)
        past = {h: n for h, n in ctx.recent.hourly.items() if h < hour}
        if past and hour - min(past) >= s.baseline_min_hours:
            baseline = sum(past.values()) / (hour - min(past))
            now_count = ctx.recent.hourly.get(hour, 0)
            multiple = now_count / max(baseline, 1.0)
            if now_count >= s.min_requests:
                volume_score = scaled(multiple, s.volume_multiple)
                evidence.append(
                    Evidence(
                        category=CATEGORY,
                        score=volume_score,
                        rule="volume",
                        detail=f"account {short(ctx.event.account_id)}: {now_count} requests this "
                        f"hour, {multiple:.0f}x its average of {baseline:.1f}",
                    )
                )
        return result(
            self,
            {CATEGORY: max(cadence_score, volume_score)},
            evidence,
            "automated mass generation",
        )
