"""People-facing endpoints: reports (anyone), appeals and statements of reasons (the affected
account only; reviewers and admins may read any)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, Request

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.schemas import (
    AppealRequest,
    AppealResponse,
    DecisionResponse,
    ReportRequest,
    ReportResponse,
)
from aupguard.api.service import (
    admit,
    authenticate,
    bearer,
    enforce_admission,
    role_of,
    state_of,
    store_call,
)
from aupguard.policy.taxonomy import load_taxonomy
from aupguard.review import ReviewDesk, ReviewError
from aupguard.store import StoreUnavailableError
from aupguard.web.mount import desk_of

router = APIRouter(prefix="/v1", tags=["people"])


async def _review(request: Request, call: Callable[[ReviewDesk], Any]) -> Any:
    """Run ``call`` on the review desk off the event loop (None if review is not mounted);
    an unreachable review store fails the request (503) rather than losing the item."""

    def run() -> Any:
        desk = desk_of(request.app)
        return None if desk is None else call(desk)

    try:
        return await anyio.to_thread.run_sync(run)
    except StoreUnavailableError as exc:
        raise ApiError(
            503,
            "store_unavailable",
            "the review queue is unavailable; try again (nothing was queued)",
        ) from exc
    except ReviewError as exc:
        raise ApiError(409, "review_conflict", str(exc)) from exc


def _verdict_of(statement: dict[str, Any], action: str) -> tuple[str, dict[str, Any]]:
    """The category and the reviewer's view of a decision, from its statement of reasons."""
    clauses = [c for c in statement.get("clauses", []) if isinstance(c, dict)]
    fired = [c for c in clauses if c.get("action") == action] or clauses
    category = str(fired[0].get("category", "other")) if fired else "other"
    view = {
        "action": action,
        "pack": statement.get("policy", ""),
        "clauses": clauses,
        "evidence": [e for e in statement.get("evidence", []) if isinstance(e, dict)],
        "categories": list(dict.fromkeys(str(c.get("category", "")) for c in fired)),
    }
    return category, view


def _not_found(decision_id: str) -> ApiError:
    # the same answer for "does not exist" and "not yours": ids are not an oracle
    return ApiError(404, "decision_not_found", f"no decision {decision_id!r} for this account")


@router.post(
    "/reports",
    response_model=ReportResponse,
    status_code=201,
    responses=error_responses(400, 401, 422, 429, 503),
    summary="Report content or an account (anyone; API key optional)",
)
async def create_report(body: ReportRequest, request: Request) -> ReportResponse:
    state = state_of(request)
    if body.category != "other" and body.category not in load_taxonomy():
        raise ApiError(
            400,
            "unknown_category",
            f"unknown category {body.category!r}; use a taxonomy category (GET /v1/taxonomy) "
            "or `other`",
            param="category",
        )
    if not any(v for v in body.item.model_dump().values()):
        raise ApiError(
            400,
            "empty_item",
            "say what is reported: a decision_id, generation_id, url or account_id",
            param="item",
        )
    reporter = None
    if bearer(request) is not None:
        principal = authenticate(request)
        reporter = principal.account_id
        admit(request, principal, "report")
    else:
        client = request.client.host if request.client else "unknown"
        enforce_admission(request, state.backends.admission.admit_anonymous(client, "report"))
    report = await store_call(
        state.records.add_report,
        reporter_account=reporter,
        category=body.category,
        reason=body.reason,
        item=body.item.model_dump(exclude_none=True),
    )
    item = body.item
    await _review(
        request,
        lambda desk: desk.add_report(
            category=body.category,
            reason=body.reason,
            reporter=reporter,
            report_id=report["id"],
            decision_id=item.decision_id,
            generation_id=item.generation_id,
            url=item.url,
            account_id=item.account_id,
        ),
    )
    return ReportResponse(id=report["id"], status=report["status"], created=report["created"])


async def _decision_for(request: Request, decision_id: str) -> dict[str, Any]:
    state = state_of(request)
    role = role_of(request)
    account = None if role is not None else authenticate(request).account_id
    decision: dict[str, Any] | None = await store_call(state.records.get_decision, decision_id)
    if decision is None or (account is not None and decision["account_id"] != account):
        raise _not_found(decision_id)
    return decision


@router.post(
    "/appeals",
    response_model=AppealResponse,
    status_code=201,
    responses=error_responses(401, 404, 409, 422, 429, 503),
    summary="Appeal a decision on your own item",
)
async def create_appeal(body: AppealRequest, request: Request) -> AppealResponse:
    state = state_of(request)
    principal = authenticate(request)
    admit(request, principal, "appeal")
    decision: dict[str, Any] | None = await store_call(state.records.get_decision, body.decision_id)
    if decision is None or decision["account_id"] != principal.account_id:
        raise _not_found(body.decision_id)
    if decision["appeal"] is not None:
        raise ApiError(
            409,
            "already_appealed",
            f"decision {body.decision_id} already has appeal {decision['appeal']['id']} "
            f"({decision['appeal']['status']})",
        )
    if decision["action"] == "allow":
        raise ApiError(409, "nothing_to_appeal", "the decision allowed the item")
    appeal = await store_call(
        state.records.add_appeal,
        decision_id=body.decision_id,
        account_id=principal.account_id,
        statement=body.statement,
    )
    statement = decision.get("statement") or {}
    category, view = _verdict_of(statement, decision["action"])
    await _review(
        request,
        lambda desk: desk.add_appeal(
            account_id=principal.account_id,
            statement=body.statement,
            decision_ref=body.decision_id,
            appeal_id=appeal["id"],
            action_ids=[str(a) for a in statement.get("action_ids", [])],
            original={"category": category, "verdict": view},
        ),
    )
    return AppealResponse(
        id=appeal["id"],
        decision_id=body.decision_id,
        status=appeal["status"],
        created=appeal["created"],
    )


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionResponse,
    responses=error_responses(401, 404, 503),
    summary="The statement of reasons for one decision (the affected account only)",
)
async def get_decision(decision_id: str, request: Request) -> DecisionResponse:
    decision = await _decision_for(request, decision_id)
    if decision["appeal"] is not None:
        # the appeal's outcome, once a reviewer has decided it (restored or upheld)
        outcome = await _review(request, lambda desk: desk.appeal_outcome(decision_id))
        if outcome is not None:
            decision["appeal"] = {**decision["appeal"], "status": outcome[0]}
    return DecisionResponse.model_validate(decision)
