"""The one call the API makes after recording a decision: a ``review`` verdict becomes a
review item (anything else is ignored, so the call can follow every decision)."""

from __future__ import annotations

from aupguard.engine.verdict import Verdict
from aupguard.review.config import RoutingConfig, load_routing
from aupguard.review.desk import ReviewDesk
from aupguard.review.records import ReviewItem
from aupguard.store import Store


def enqueue_verdict(
    store: Store,
    verdict: Verdict,
    *,
    account_id: str | None,
    decision_id: str | None,
    prompt: str | None = None,
    image: bytes | None = None,
    image_type: str | None = None,
    surface: str = "content",
    routing: RoutingConfig | None = None,
) -> ReviewItem | None:
    """Queue ``verdict`` for human review if its action is ``review``; None otherwise.

    ``decision_id`` is the id of the recorded decision (statement of reasons), so that reports
    and appeals about it find the item; ``prompt``/``image`` are what the reviewer sees
    (kept only in the review item). Routing comes from ``AUPGUARD_REVIEW_QUEUES`` unless
    given."""
    desk = ReviewDesk(store, routing or load_routing())
    return desk.enqueue_verdict(
        verdict,
        account_id=account_id,
        reference=decision_id,
        prompt=prompt,
        image=image,
        image_type=image_type,
        surface=surface,
    )
