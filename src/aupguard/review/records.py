"""Typed, frozen records the review desk hands out (never live ORM rows), and the errors."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aupguard.errors import AupguardError
from aupguard.review.config import CHILD_SAFETY_CATEGORY, ItemKind, Role


class ReviewError(AupguardError):
    """A review operation that cannot be done as asked (shown to the reviewer as is)."""

    code = "review_error"


class ItemNotFoundError(ReviewError, LookupError):
    code = "review_item_not_found"


class ForbiddenError(ReviewError, PermissionError):
    """The reviewer's roles do not allow this (an answer that does not reveal the item)."""

    code = "forbidden"


class AuthenticationError(ReviewError):
    code = "bad_credentials"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)


class Reviewer(_Record):
    username: str
    roles: tuple[Role, ...]
    blur_images: bool
    disabled: bool
    created_at: dt.datetime

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)


class ItemStatus(StrEnum):
    OPEN = "open"
    DECIDED = "decided"


class DecisionAction(StrEnum):
    APPROVE = "approve"
    REMOVE = "remove"
    ESCALATE = "escalate"
    LADDER_STEP = "ladder_step"
    FALSE_POSITIVE = "false_positive"
    NOTE = "note"
    # appeals
    RESTORE = "restore"
    UPHOLD = "uphold"


# what a decision leaves as the item's outcome (None: the item stays open)
CLOSING = {
    DecisionAction.APPROVE: "approved",
    DecisionAction.REMOVE: "removed",
    DecisionAction.LADDER_STEP: "enforced",
    DecisionAction.FALSE_POSITIVE: "false_positive",
    DecisionAction.RESTORE: "restored",
    DecisionAction.UPHOLD: "upheld",
}
APPEAL_ACTIONS = frozenset({DecisionAction.RESTORE, DecisionAction.UPHOLD, DecisionAction.NOTE})
# steps a reviewer may apply by hand (the CSAM path and legal holds are not hand-applied)
HAND_STEPS = (
    "request_changes",
    "warning",
    "content_removal",
    "account_restriction",
    "temporary_suspension",
    "permanent_ban",
)


class ClauseView(_Record):
    clause_id: str
    title: str = ""
    quote: str = ""
    category: str
    score: float | None = None
    review_threshold: float | None = None
    block_threshold: float | None = None
    action: str = ""
    citation: str = ""


class EvidenceView(_Record):
    category: str
    score: float | None = None
    start: int | None = None
    end: int | None = None
    text: str | None = None
    rule: str | None = None
    detail: str | None = None
    region: tuple[int, int, int, int] | None = None


class VerdictView(_Record):
    action: str = ""
    pack: str = ""
    clauses: tuple[ClauseView, ...] = ()
    evidence: tuple[EvidenceView, ...] = ()
    categories: tuple[str, ...] = ()


class ReportEntry(_Record):
    report_id: str | None
    reporter: str | None
    category: str
    reason: str
    at: dt.datetime


class ReviewItem(_Record):
    id: str
    kind: ItemKind
    status: ItemStatus
    queue: str
    rank: int
    severity: int
    category: str
    surface: str
    pack: str
    lang: str
    account_id: str | None
    reference: str | None
    group_key: str | None
    content_text: str | None
    has_image: bool
    image_type: str | None
    verdict: VerdictView
    details: dict[str, Any]
    report_count: int
    created_at: dt.datetime
    sla_due_at: dt.datetime
    claimed_by: str | None
    claim_expires_at: dt.datetime | None
    decided_at: dt.datetime | None
    decided_by: str | None
    outcome: str | None
    appeal_of: str | None

    @property
    def child_safety(self) -> bool:
        return self.category == CHILD_SAFETY_CATEGORY or CHILD_SAFETY_CATEGORY in (
            self.verdict.categories
        )

    def overdue(self, now: dt.datetime) -> bool:
        return self.status is ItemStatus.OPEN and self.sla_due_at < now

    def claimed(self, now: dt.datetime) -> str | None:
        """Who holds the item now (an expired claim holds nothing)."""
        if self.claimed_by and self.claim_expires_at and self.claim_expires_at > now:
            return self.claimed_by
        return None


class DecisionRecord(_Record):
    id: int
    item_id: str
    reviewer: str
    action: DecisionAction
    reason: str
    clause_id: str | None
    category: str
    pack: str
    data: dict[str, Any]
    at: dt.datetime


class DecisionInput(BaseModel):
    """What a reviewer asks for. ``step`` and ``duration_days`` for a ladder step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: DecisionAction
    reason: str = Field(default="", max_length=4000)
    clause_id: str | None = None
    step: str | None = None
    duration_days: int | None = Field(default=None, ge=1, le=3650)


class QueueSummary(_Record):
    name: str
    title: str
    sla_minutes: int
    open: int
    overdue: int
    claimed: int
    oldest: dt.datetime | None


class AppealOutcome(_Record):
    """What an appeal came to, as the account is told (notification hooks get this)."""

    appeal_item_id: str
    account_id: str | None
    decision_ref: str | None
    outcome: str  # restored | upheld
    reason: str
    reviewer: str
    reversed_actions: tuple[str, ...]
    at: dt.datetime


class AccountHistory(_Record):
    account_id: str
    in_store: bool
    actions: tuple[dict[str, Any], ...] = ()
    strikes: tuple[dict[str, Any], ...] = ()
    links: tuple[dict[str, Any], ...] = ()
    items: tuple[dict[str, Any], ...] = ()
