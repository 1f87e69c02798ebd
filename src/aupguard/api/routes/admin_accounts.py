"""Admin API for organisations, accounts, API keys and credits (the store backend): what the
`aupguard accounts|keys|credits` commands do, over HTTP for an operator's back office.
Every change is an event in the store with the admin as actor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Request
from pydantic import Field

from aupguard.api.errors import ApiError, error_responses
from aupguard.api.schemas import _Strict
from aupguard.api.service import require_role, state_of

router = APIRouter(prefix="/v1/admin", tags=["admin"])
ACTOR = "admin-api"


class OrgCreate(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    plan_id: str | None = None


class AccountCreate(_Strict):
    org_id: Annotated[str, Field(min_length=1, max_length=64)]
    external_id: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    plan_id: str | None = None


class KeyCreate(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)] = "default"
    scopes: Annotated[tuple[str, ...], Field(min_length=1, max_length=32)] = (
        "moderate",
        "generate",
    )
    expires_in_days: Annotated[float | None, Field(gt=0, le=3650)] = None


class KeyRevoke(_Strict):
    reason: Annotated[str, Field(min_length=1, max_length=500)] = "revoked by admin"


class CreditGrant(_Strict):
    amount: Annotated[int, Field(gt=0, le=1_000_000_000)]
    reason: Annotated[str, Field(min_length=1, max_length=500)]
    idempotency_key: Annotated[str | None, Field(max_length=200)] = None


def _store(request: Request) -> Any:
    """The store behind the service; 501 on the embedded backend (keys live in settings)."""
    store = state_of(request).backends.store
    if store is None:
        raise ApiError(
            501,
            "store_backend_required",
            "accounts and keys are managed in the store: run with AUPGUARD_BACKEND=store",
        )
    return store


async def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A store call off the event loop, its errors in the API's one error shape."""
    from aupguard.store import NotFoundError, StoreError, StoreUnavailableError

    try:
        return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    except NotFoundError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except StoreUnavailableError:
        raise ApiError(
            503,
            "store_unavailable",
            "the account store is unavailable",
            headers={"Retry-After": "5"},
        ) from None
    except StoreError as exc:
        raise ApiError(400, getattr(exc, "code", "invalid_request"), str(exc)) from None


@router.post("/orgs", responses=error_responses(400, 401, 403, 501), summary="Create an org")
async def create_org(body: OrgCreate, request: Request) -> dict[str, Any]:
    require_role(request, "admin")
    store = _store(request)
    org = await _call(store.accounts.create_org, body.name, plan_id=body.plan_id, actor=ACTOR)
    return dict(org.model_dump(mode="json"))


@router.post(
    "/accounts", responses=error_responses(400, 401, 403, 404, 501), summary="Create an account"
)
async def create_account(body: AccountCreate, request: Request) -> dict[str, Any]:
    require_role(request, "admin")
    store = _store(request)
    account = await _call(
        store.accounts.create,
        body.org_id,
        external_id=body.external_id,
        email=body.email,
        plan_id=body.plan_id,
        actor=ACTOR,
    )
    return dict(account.model_dump(mode="json"))


@router.post(
    "/accounts/{account_id}/keys",
    responses=error_responses(400, 401, 403, 404, 501),
    summary="Issue an API key (the secret is shown once, only its hash is kept)",
)
async def create_key(account_id: str, body: KeyCreate, request: Request) -> dict[str, Any]:
    require_role(request, "admin")
    store = _store(request)
    expires = None
    if body.expires_in_days is not None:
        expires = store.now() + dt.timedelta(days=body.expires_in_days)
    issued = await _call(
        store.keys.create,
        account_id,
        name=body.name,
        scopes=body.scopes,
        expires_at=expires,
        actor=ACTOR,
    )
    return {"key": issued.key.model_dump(mode="json"), "secret": issued.secret}


@router.get(
    "/accounts/{account_id}/keys",
    responses=error_responses(401, 403, 404, 501),
    summary="An account's keys (prefixes, scopes, state; never secrets)",
)
async def list_keys(account_id: str, request: Request) -> list[dict[str, Any]]:
    require_role(request, "admin", "reviewer")
    store = _store(request)
    keys = await _call(store.keys.for_account, account_id)
    now = store.now()
    return [{**k.model_dump(mode="json"), "state": k.state(now)} for k in keys]


@router.post(
    "/keys/{key_id}/revocation",
    responses=error_responses(400, 401, 403, 404, 501),
    summary="Revoke an API key",
)
async def revoke_key(key_id: str, body: KeyRevoke, request: Request) -> dict[str, Any]:
    require_role(request, "admin")
    store = _store(request)
    key = await _call(store.keys.revoke, key_id, reason=body.reason, actor=ACTOR)
    return dict(key.model_dump(mode="json"))


@router.post(
    "/accounts/{account_id}/credits",
    responses=error_responses(400, 401, 403, 404, 501),
    summary="Grant credits (a ledger entry)",
)
async def grant_credits(account_id: str, body: CreditGrant, request: Request) -> dict[str, Any]:
    require_role(request, "admin")
    store = _store(request)
    entry = await _call(
        store.credits.grant,
        account_id,
        body.amount,
        reason=body.reason,
        idempotency_key=body.idempotency_key,
        actor=ACTOR,
    )
    balance = await _call(store.credits.balance, account_id)
    return {"entry": entry.model_dump(mode="json"), "balance": balance}
