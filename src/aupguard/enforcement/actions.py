"""Enforcement actions as values: the ladder and the CSAM path return them, one executor
carries them out (``executor.py``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aupguard.policy.models import LadderStep


class ActionKind(StrEnum):
    """Every ``LadderStep`` a pack can name, plus the steps of the CSAM path."""

    REQUEST_CHANGES = LadderStep.REQUEST_CHANGES.value
    WARNING = LadderStep.WARNING.value
    CONTENT_REMOVAL = LadderStep.CONTENT_REMOVAL.value
    ACCOUNT_RESTRICTION = LadderStep.ACCOUNT_RESTRICTION.value
    TEMPORARY_SUSPENSION = LadderStep.TEMPORARY_SUSPENSION.value
    PERMANENT_BAN = LadderStep.PERMANENT_BAN.value
    CREDIT_FORFEITURE = LadderStep.CREDIT_FORFEITURE.value
    REPORT_TO_AUTHORITIES = LadderStep.REPORT_TO_AUTHORITIES.value
    LEGAL_ACTION = LadderStep.LEGAL_ACTION.value
    PRESERVE_EVIDENCE = "preserve_evidence"
    FLAG_FOR_REVIEW = "flag_for_review"


# steps that stop an account from using the service while they are in force
BLOCKING_KINDS = frozenset({ActionKind.TEMPORARY_SUSPENSION, ActionKind.PERMANENT_BAN})


class EnforcementAction(BaseModel):
    """One step to carry out on one account, with the reason and the clause behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: ActionKind
    account_id: str
    reason: str
    step_id: str | None = None  # the pack's enforcement step this carries out
    pack_id: str | None = None
    pack_version: str | None = None
    clause_id: str | None = None
    category: str | None = None
    duration: dt.timedelta | None = None  # temporary suspensions
    data: dict[str, Any] = Field(default_factory=dict)
