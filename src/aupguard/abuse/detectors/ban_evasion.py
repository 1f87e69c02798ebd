"""``abuse/ban-evasion``: an account strongly linked (e-mail, device, payment) to a banned
one."""

from __future__ import annotations

from typing import ClassVar

from aupguard.abuse.detectors.base import BehaviourContext, Settings, result, short
from aupguard.detectors.base import DetectorResult, Evidence

CATEGORY = "abuse/ban-evasion"


class BanEvasionSettings(Settings):
    pass


class BanEvasionDetector:
    name: ClassVar[str] = "abuse.ban_evasion"
    version: ClassVar[str] = "1"
    categories: ClassVar[frozenset[str]] = frozenset({CATEGORY})
    settings_model: ClassVar[type[Settings]] = BanEvasionSettings

    def __init__(self, settings: BanEvasionSettings | None = None):
        self.settings = settings or BanEvasionSettings()

    def check(self, ctx: BehaviourContext) -> DetectorResult:
        evidence = [
            Evidence(
                category=CATEGORY,
                score=1.0,
                rule="linked-to-banned",
                detail=f"account {short(ctx.event.account_id)} shares "
                + ", ".join(f"{k.value} {', '.join(v)}" for k, v in sorted(link.shared.items()))
                + f" with banned account {short(link.account_id)}",
            )
            for link in ctx.strong_links()
            if link.account_id in ctx.banned_accounts
        ]
        score = 1.0 if evidence else 0.0
        return result(self, {CATEGORY: score}, evidence, "a new account of a banned user")
