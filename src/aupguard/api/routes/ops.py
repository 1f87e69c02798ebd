"""Health, readiness, metrics and the taxonomy."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aupguard.api.records import StoreUnavailableError
from aupguard.api.schemas import HealthResponse
from aupguard.api.service import state_of
from aupguard.policy.taxonomy import load_taxonomy

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthResponse, summary="The process is alive")
async def healthz() -> HealthResponse:
    return HealthResponse(status="ok")


@router.get(
    "/readyz",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse}},
    summary="Ready to serve: models warm, packs loaded, records store writable",
)
async def readyz(request: Request, response: Response) -> HealthResponse:
    state = state_of(request)
    checks = {"models": "ok" if state.ready else "warming up"}
    try:
        await anyio.to_thread.run_sync(state.records.ping)
        checks["store"] = "ok"
    except StoreUnavailableError as exc:
        checks["store"] = f"unavailable: {exc}"
    if state.backends.ping is not None:
        try:
            await anyio.to_thread.run_sync(state.backends.ping)
            checks["accounts"] = "ok"
        except Exception as exc:  # the account store is down: not ready (fail closed)
            checks["accounts"] = f"unavailable: {type(exc).__name__}"
    try:
        await anyio.to_thread.run_sync(lambda: state.packs.choose(state.settings.default_policy))
        checks["policy"] = "ok"
    except Exception as exc:
        checks["policy"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    if not ok:
        response.status_code = 503
    return HealthResponse(status="ready" if ok else "not ready", checks=checks)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry = state_of(request).metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/taxonomy", summary="Categories with their OpenAI and MLCommons mappings")
async def taxonomy() -> dict[str, object]:
    t = load_taxonomy()
    return {
        "categories": [c.model_dump() for c in t.categories.values()],
        "openai_categories": list(t.openai_categories),
    }
