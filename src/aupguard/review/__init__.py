"""Human review: queues of review items (``review`` verdicts, user reports, appeals), claims,
decisions that go through the enforcement layer, appeals decided by a second reviewer, and
the false-positive export. The reviewer web UI is ``aupguard.web``.

Needs the ``store`` extra (the desk keeps its tables in the store's database).
"""

from __future__ import annotations

from aupguard.review.config import (
    CHILD_SAFETY_CATEGORY,
    DEFAULT_ROUTING,
    ItemKind,
    PriorityTier,
    QueueConfig,
    ReviewConfigError,
    Role,
    RoutingConfig,
    load_routing,
)
from aupguard.review.desk import AppealNotifier, ReviewDesk
from aupguard.review.intake import enqueue_verdict
from aupguard.review.records import (
    AppealOutcome,
    AuthenticationError,
    DecisionAction,
    DecisionInput,
    DecisionRecord,
    ForbiddenError,
    ItemNotFoundError,
    QueueSummary,
    Reviewer,
    ReviewError,
    ReviewItem,
)

__all__ = [
    "CHILD_SAFETY_CATEGORY",
    "DEFAULT_ROUTING",
    "AppealNotifier",
    "AppealOutcome",
    "AuthenticationError",
    "DecisionAction",
    "DecisionInput",
    "DecisionRecord",
    "ForbiddenError",
    "ItemKind",
    "ItemNotFoundError",
    "PriorityTier",
    "QueueConfig",
    "QueueSummary",
    "ReviewConfigError",
    "ReviewDesk",
    "ReviewError",
    "ReviewItem",
    "Reviewer",
    "Role",
    "RoutingConfig",
    "enqueue_verdict",
    "load_routing",
]
