"""``abuse/key-sharing``: one API key used from many networks in a short window, or from
places too far apart for the time between requests. Many devices on one network (a family
or an office behind one router) is not sharing."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import Annotated, ClassVar

from pydantic import Field

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, scaled, short
from aupguard.detectors.base import DetectorResult, Evidence

CATEGORY = "abuse/key-sharing"


class KeySharingSettings(Settings):
    window_minutes: Annotated[float, Field(gt=0)] = 10
    networks: Annotated[int, Field(ge=2)] = 8  # distinct /24 or /48 networks in the window
    max_speed_kmh: Annotated[float, Field(gt=0)] = 1000  # faster than an airliner
    min_distance_km: Annotated[float, Field(ge=0)] = 500


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


class KeySharingDetector:
    name: ClassVar[str] = "abuse.key_sharing"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = KeySharingSettings

    def __init__(self, settings: KeySharingSettings | None = None):
        self.settings = settings or KeySharingSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        s = self.settings
        event = ctx.event
        if not event.key_id:
            return result(self, {}, [])
        since = event.at - dt.timedelta(minutes=s.window_minutes)
        window = [e for e in ctx.recent.by_key if e.at >= since]
        networks = {e.network for e in window if e.network}
        evidence: list[Evidence] = []
        network_score = scaled(len(networks), s.networks) if len(networks) > 1 else 0.0
        evidence.append(
            Evidence(
                category=CATEGORY,
                score=network_score,
                rule="networks",
                detail=f"key {short(event.key_id)} seen from {len(networks)} networks in "
                f"{s.window_minutes:g} min (threshold {s.networks})",
            )
        )
        travel_score = 0.0
        located = [e for e in window if e.geo is not None]  # arrival order
        for prev, cur in itertools.pairwise(located):
            assert prev.geo is not None and cur.geo is not None
            if cur.at <= prev.at:  # the clock stepped back: no speed can be measured
                continue
            km = _km(prev.geo, cur.geo)
            hours = max((cur.at - prev.at).total_seconds(), 1.0) / 3600
            if km >= s.min_distance_km and km / hours > s.max_speed_kmh:
                travel_score = 1.0
                evidence.append(
                    Evidence(
                        category=CATEGORY,
                        score=1.0,
                        rule="impossible-travel",
                        detail=f"key {short(event.key_id)} used {km:,.0f} km apart within "
                        f"{hours * 60:.0f} min ({km / hours:,.0f} km/h)",
                    )
                )
                break
        score = max(network_score, travel_score)
        return result(self, {CATEGORY: score}, evidence, "one key, many places")
