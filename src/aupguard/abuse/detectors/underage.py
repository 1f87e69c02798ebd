"""``abuse/underage``: where the pack sets a minimum age, an account with no age attestation,
a failed one, or an age below the minimum without the parental consent the pack accepts."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, short
from aupguard.detectors.base import DetectorResult, Evidence
from aupguard.store.records import AgeMethod

CATEGORY = "abuse/underage"


class UnderageSettings(Settings):
    # a missing attestation is uncertain: by default it lands between review and block
    missing_score: Annotated[float, Field(ge=0, le=1)] = 0.6


class UnderageDetector:
    name: ClassVar[str] = "abuse.underage"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = UnderageSettings

    def __init__(self, settings: UnderageSettings | None = None):
        self.settings = settings or UnderageSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        minimum = ctx.minimum_age
        if minimum is None:
            return result(self, {}, [])
        who = f"account {short(ctx.event.account_id)}"
        age = ctx.age
        if age is None:
            score, detail = self.settings.missing_score, f"{who} has no age attestation"
        elif age.method is AgeMethod.FAILED:
            score, detail = 1.0, f"{who} failed age verification"
        elif (age.age_years is not None and age.age_years >= minimum) or (
            ctx.parental_consent_allowed and age.parental_consent
        ):
            score, detail = 0.0, ""
        elif age.age_years is None:
            score, detail = 1.0, f"{who} has a parental consent the policy does not accept"
        else:
            consent = " without parental consent" if ctx.parental_consent_allowed else ""
            score = 1.0
            detail = f"{who} attested age {age.age_years}, below {minimum}{consent}"
        evidence = [Evidence(category=CATEGORY, score=score, rule="age", detail=detail)]
        return result(self, {CATEGORY: score}, evidence, f"minimum age {minimum}")
