"""``abuse/multi-account``: several accounts tied together by a normalised e-mail, a device
or a payment fingerprint. A shared IP network alone (a school's or an office's NAT, a mobile
carrier) links nobody."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, scaled, short
from aupguard.detectors.base import DetectorResult, Evidence

CATEGORY = "abuse/multi-account"


class MultiAccountSettings(Settings):
    linked_accounts: Annotated[int, Field(ge=1)] = 2  # other accounts strongly linked


class MultiAccountDetector:
    name: ClassVar[str] = "abuse.multi_account"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = MultiAccountSettings

    def __init__(self, settings: MultiAccountSettings | None = None):
        self.settings = settings or MultiAccountSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        strong = ctx.strong_links()
        score = scaled(len(strong), self.settings.linked_accounts)
        shown = "; ".join(
            f"{short(link.account_id)} by {', '.join(sorted(k.value for k in link.shared))}"
            for link in strong[:5]
        )
        evidence = [
            Evidence(
                category=CATEGORY,
                score=score,
                rule="linked-accounts",
                detail=f"account {short(ctx.event.account_id)} is linked to {len(strong)} other "
                f"accounts (threshold {self.settings.linked_accounts}): {shown}",
            )
        ]
        return result(self, {CATEGORY: score}, evidence, "accounts linked by identifiers")
