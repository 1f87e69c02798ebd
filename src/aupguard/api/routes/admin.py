"""Admin API: policy packs (list, upload, activate a version, shadow mode) and accounts."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.packs import PackConflictError
from aupguard.api.schemas import (
    PackInfo,
    PackUpload,
    PackUploaded,
    ShadowRow,
    SuspendRequest,
    VersionChoice,
)
from aupguard.api.seams import UnknownAccountError
from aupguard.api.service import AppState, require_role, state_of, store_call
from aupguard.detectors.base import DetectorError
from aupguard.errors import AupguardError
from aupguard.policy.loader import PackError
from aupguard.policy.registry import UnknownPackError

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ERRORS = error_responses(401, 403, 404, 503)


@router.get("/packs", response_model=list[PackInfo], responses=ERRORS, summary="Loaded packs")
async def list_packs(request: Request) -> list[PackInfo]:
    require_role(request, "admin", "reviewer")
    listing = await store_call(state_of(request).packs.listing)
    return [PackInfo.model_validate(p) for p in listing]


@router.post(
    "/packs",
    response_model=PackUploaded,
    status_code=201,
    responses=error_responses(401, 403, 409, 422, 503),
    summary="Upload a custom pack (validated like `aupguard policy validate`)",
)
async def upload_pack(body: PackUpload, request: Request) -> PackUploaded:
    require_role(request, "admin")
    state = state_of(request)
    try:
        pack = await store_call(state.packs.upload, body.yaml)
    except PackError as exc:
        raise ApiError(
            422,
            "invalid_pack",
            f"the pack has {len(exc.problems)} problem(s); see details (line:column: message)",
            param="yaml",
            details=[f"{p.line}:{p.column}: {p.message}" for p in exc.problems],
        ) from None
    except PackConflictError as exc:
        raise ApiError(409, "pack_exists", str(exc)) from None
    return PackUploaded(
        id=pack.id, version=pack.version, clauses=len(pack.pack.clauses), lineage=list(pack.lineage)
    )


def _unknown(exc: UnknownPackError) -> ApiError:
    return ApiError(404, "unknown_policy", str(exc))


@router.put(
    "/packs/{pack_id}/active",
    response_model=PackInfo,
    responses=error_responses(401, 403, 404, 422, 503),
    summary="Activate a version: requests naming the pack id use it",
)
async def activate(pack_id: str, body: VersionChoice, request: Request) -> PackInfo:
    require_role(request, "admin")
    state = state_of(request)
    if body.version is None:
        raise ApiError(422, "version_required", "give the version to activate", param="version")
    try:
        await store_call(state.packs.activate, pack_id, body.version)
    except UnknownPackError as exc:
        raise _unknown(exc) from None
    await _audit(state, "pack.activated", f"{pack_id}@{body.version}", {"mode": "live"})
    return _info(state.packs.listing(), pack_id)


async def _audit(state: AppState, kind: str, subject: str, data: dict[str, Any]) -> None:
    """An operator's change to what is enforced, in the audit log (store backend)."""
    audit = state.backends.audit
    if audit is not None:
        await anyio.to_thread.run_sync(
            lambda: audit.append(kind, actor="admin", subject=subject, data=data)
        )


@router.put(
    "/packs/{pack_id}/shadow",
    response_model=PackInfo,
    responses=error_responses(401, 403, 404, 422, 503),
    summary="Shadow mode: also evaluate this version on live traffic and record what it would "
    "have decided, without enforcing it (version null turns it off)",
)
async def shadow(pack_id: str, body: VersionChoice, request: Request) -> PackInfo:
    require_role(request, "admin")
    state = state_of(request)
    try:
        await store_call(state.packs.set_shadow, pack_id, body.version)
    except UnknownPackError as exc:
        raise _unknown(exc) from None
    await _audit(
        state,
        "pack.activated",
        f"{pack_id}@{body.version}" if body.version else pack_id,
        {"mode": "shadow" if body.version else "shadow-off"},
    )
    return _info(state.packs.listing(), pack_id)


@router.get(
    "/packs/{pack_id}/shadow",
    response_model=list[ShadowRow],
    responses=ERRORS,
    summary="What the shadow version decided compared with the live one",
)
async def shadow_results(pack_id: str, request: Request) -> list[ShadowRow]:
    require_role(request, "admin", "reviewer")
    rows = await store_call(state_of(request).records.shadow_summary, pack_id)
    return [ShadowRow.model_validate(r) for r in rows]


def _info(listing: list[dict[str, object]], pack_id: str) -> PackInfo:
    for p in listing:
        if p["id"] == pack_id:
            return PackInfo.model_validate(p)
    raise ApiError(404, "unknown_policy", f"unknown policy {pack_id!r}")


@router.get(
    "/reports/{report_id}",
    responses=ERRORS,
    summary="One report, for reviewers",
)
async def get_report(report_id: str, request: Request) -> dict[str, Any]:
    require_role(request, "admin", "reviewer")
    report: dict[str, Any] | None = await store_call(
        state_of(request).records.get_report, report_id
    )
    if report is None:
        raise ApiError(404, "report_not_found", f"no report {report_id!r}")
    return report


def _unknown_account(exc: UnknownAccountError) -> ApiError:
    return ApiError(404, "unknown_account", str(exc))


@router.get("/accounts/{account_id}", responses=ERRORS, summary="Account standing")
async def account_status(account_id: str, request: Request) -> dict[str, object]:
    require_role(request, "admin", "reviewer")
    try:
        return dict(state_of(request).backends.accounts.status(account_id))
    except UnknownAccountError as exc:
        raise _unknown_account(exc) from None


@router.post(
    "/accounts/{account_id}/suspension",
    responses=error_responses(401, 403, 422),
    summary="Suspend an account (its keys get 403 with the reason)",
)
async def suspend(account_id: str, body: SuspendRequest, request: Request) -> dict[str, object]:
    require_role(request, "admin")
    accounts = state_of(request).backends.accounts
    try:
        accounts.suspend(account_id, body.reason)
        return dict(accounts.status(account_id))
    except UnknownAccountError as exc:
        raise _unknown_account(exc) from None


@router.delete("/accounts/{account_id}/suspension", responses=ERRORS, summary="Lift a suspension")
async def unsuspend(account_id: str, request: Request) -> dict[str, object]:
    require_role(request, "admin")
    accounts = state_of(request).backends.accounts
    try:
        if not accounts.unsuspend(account_id):
            raise ApiError(404, "not_suspended", f"account {account_id!r} is not suspended")
        return dict(accounts.status(account_id))
    except UnknownAccountError as exc:
        raise _unknown_account(exc) from None


@router.post(
    "/detectors/reload",
    responses=error_responses(400, 401, 403),
    summary="Re-read the detectors' operator lists and rules (protected persons, brands, use cases)",
)
async def reload_detectors(request: Request) -> dict[str, object]:
    require_role(request, "admin")
    packs = state_of(request).packs
    try:
        reloaded = await anyio.to_thread.run_sync(packs.reload_detectors)
    except (DetectorError, AupguardError, ValueError, OSError) as exc:
        # a broken or missing operator file: that detector keeps its old lists
        raise ApiError(400, "invalid_detector_data", str(exc)) from None
    return {"reloaded": reloaded}
