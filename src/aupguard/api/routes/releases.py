"""GET /v1/decisions/{decision_id}/output: an output held for human review, released once a
reviewer approved it (the pack required review before release, or the verdict asked for it).
Only the account it belongs to may fetch it; it carries its watermark, C2PA manifest and
disclosure like any delivered output."""

from __future__ import annotations

import base64
from typing import Any

import anyio
from fastapi import APIRouter, Request

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.service import authenticate, state_of, store_call

router = APIRouter(prefix="/v1", tags=["people"])

RELEASING_OUTCOMES = frozenset({"approved", "false_positive", "restored"})


def _held_item(holder: Any, decision_id: str) -> tuple[str, str | None, bytes | None, str | None]:
    """(status, outcome, image, media type) of the review item held under ``decision_id``."""
    from sqlalchemy import select

    from aupguard.review.models import ReviewItemRow

    desk = holder.desk()
    with desk.store.session() as s:
        row = s.scalars(
            select(ReviewItemRow)
            .where(ReviewItemRow.reference == decision_id, ReviewItemRow.kind == "verdict")
            .order_by(ReviewItemRow.created_at)
            .limit(1)
        ).first()
        if row is None:
            raise LookupError(decision_id)
        return row.status, row.outcome, row.content_image, row.image_type


@router.get(
    "/decisions/{decision_id}/output",
    responses=error_responses(401, 404, 409, 410, 503),
    summary="Fetch an output held for review, once a reviewer released it",
)
async def released_output(decision_id: str, request: Request) -> dict[str, Any]:
    principal = authenticate(request)
    state = state_of(request)
    decision = await store_call(state.records.get_decision, decision_id)
    if decision is None or decision["account_id"] != principal.account_id:
        raise ApiError(404, "not_found", f"no decision {decision_id!r} for this account")
    if state.review is None:
        raise ApiError(404, "not_found", "no review queue on this service")
    try:
        status, outcome, image, media_type = await anyio.to_thread.run_sync(
            _held_item, state.review, decision_id
        )
    except LookupError:
        raise ApiError(404, "not_found", f"decision {decision_id!r} held no output") from None
    if status != "decided":
        raise ApiError(
            409,
            "pending_review",
            "the output is held for human review; ask again later",
            headers={"Retry-After": "60"},
        )
    if outcome not in RELEASING_OUTCOMES:
        raise ApiError(410, "output_removed", f"a reviewer did not release the output ({outcome})")
    if image is None:
        raise ApiError(
            410, "output_unavailable", "the output could not be marked and cannot be released"
        )
    return {
        "decision_id": decision_id,
        "outcome": outcome,
        "media_type": media_type,
        "b64_json": base64.b64encode(image).decode("ascii"),
    }
