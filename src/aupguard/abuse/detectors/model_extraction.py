"""``abuse/model-extraction``: systematic prompt sweeps: many prompts built from one template
with a varying slot (an enumeration, a word list), at machine volume. A person iterating on
an idea varies the whole prompt; an identical prompt retried is not a sweep either."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated, ClassVar

from pydantic import Field

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, scaled, short
from aupguard.detectors.base import DetectorResult, Evidence

CATEGORY = "abuse/model-extraction"


class ModelExtractionSettings(Settings):
    window_minutes: Annotated[float, Field(gt=0)] = 60
    min_prompts: Annotated[int, Field(ge=3)] = 20
    # share of recent prompts that fit one template
    template_share: Annotated[float, Field(gt=0, le=1)] = 0.6
    # words kept fixed at each end of the template
    anchor_words: Annotated[int, Field(ge=1, le=8)] = 3


class ModelExtractionDetector:
    name: ClassVar[str] = "abuse.model_extraction"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = ModelExtractionSettings

    def __init__(self, settings: ModelExtractionSettings | None = None):
        self.settings = settings or ModelExtractionSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        s = self.settings
        since = ctx.event.at - dt.timedelta(minutes=s.window_minutes)
        shapes = [e.shape for e in ctx.recent.by_account if e.at >= since and e.shape]
        if len(shapes) < s.min_prompts:
            return result(self, {}, [])
        k = s.anchor_words
        templates = Counter((shape[:k], shape[-k:]) for shape in shapes if len(shape) > 2 * k)
        if not templates:
            return result(self, {}, [])
        template, count = templates.most_common(1)[0]
        members = {shape for shape in shapes if (shape[:k], shape[-k:]) == template}
        # a sweep varies its slot: most members differ from each other
        if len(members) < count / 2:
            return result(self, {}, [])
        share = count / len(shapes)
        score = scaled(share, s.template_share)
        evidence = [
            Evidence(
                category=CATEGORY,
                score=score,
                rule="template-sweep",
                detail=f"account {short(ctx.event.account_id)}: {count} of {len(shapes)} prompts in "
                f"{s.window_minutes:g} min fit one template with a varying slot "
                f"({len(members)} variants)",
            )
        ]
        return result(self, {CATEGORY: score}, evidence, "systematic prompt sweep")
