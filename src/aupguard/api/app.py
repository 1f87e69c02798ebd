"""The FastAPI application: routes, the one error shape, limits, request ids, metrics, logs."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aupguard import __version__
from aupguard.api.errors import ApiError
from aupguard.api.observability import Metrics, configure_logging, log_event
from aupguard.api.packs import PackManager
from aupguard.api.records import Records, RecordsStore
from aupguard.api.routes import (
    admin,
    admin_accounts,
    checks,
    gateway,
    ops,
    people,
    provenance,
    releases,
)
from aupguard.api.seams import Backends, ImageChecker, build_backends
from aupguard.api.service import AppState, make_generator
from aupguard.api.settings import Settings, load_settings
from aupguard.engine.moderator import Limits
from aupguard.web.mount import mount_review

DESCRIPTION = """aupguard enforces acceptable-use policies in front of a generative model.

* `POST /v1/moderations` answers in OpenAI's moderation API shape; `POST /v1/check` gives
  aupguard's full verdicts; `POST /v1/images/generations` is a policy-enforcing gateway in
  OpenAI's images API shape.
* Authenticate with `Authorization: Bearer <API key>`; the admin API takes the admin or
  reviewer token the same way.
* Every error has one shape: `{"error": {"type", "code", "message", "param", "request_id"}}`.
"""


def _error_response(exc: ApiError, request_id: str | None) -> JSONResponse:
    return JSONResponse(
        exc.body(request_id).model_dump(exclude_none=True),
        status_code=exc.status,
        headers=exc.headers,
    )


class EdgeMiddleware:
    """Request ids, the body size limit (checked while the body streams in), access logs and
    request metrics. Pure ASGI, so it costs little per request."""

    def __init__(self, app: ASGIApp, state: AppState):
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        request_id = "req_" + uuid.uuid4().hex[:20]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        limit = state.settings.max_body_bytes
        status_holder = {"status": 500}
        too_large = ApiError(
            413,
            "body_too_large",
            f"the request body is larger than {limit:,} bytes (AUPGUARD_MAX_BODY_BYTES)",
        )

        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _error_response(too_large, request_id)(scope, receive, send)
            self._observe(scope, 413, started, request_id)
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                raw = list(message.get("headers", []))
                raw.append((b"x-request-id", request_id.encode()))
                present = {k.lower() for k, _ in raw}
                for k, v in (scope["state"].get("rate_headers") or {}).items():
                    if k.lower().encode() not in present:
                        raw.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": raw}
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
        except _BodyTooLarge:
            await _error_response(too_large, request_id)(scope, receive, send)
            status_holder["status"] = 413
        except Exception:
            # never a stack trace to the client: log it, answer the error shape with the id
            state.logger.exception("unhandled error", extra={"fields": {"request_id": request_id}})
            if status_holder.get("started"):
                raise
            internal = ApiError(
                500,
                "internal_error",
                "an internal error occurred; nothing was delivered. Quote the request_id to "
                "the operator",
            )
            await _error_response(internal, request_id)(scope, receive, send)
            status_holder["status"] = 500
        self._observe(scope, status_holder["status"], started, request_id)

    def _observe(self, scope: Scope, status: int, started: float, request_id: str) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        elapsed = time.perf_counter() - started
        self.state.metrics.requests.labels(scope["method"], path, str(status)).inc()
        self.state.metrics.latency.labels(path).observe(elapsed)
        principal = scope["state"].get("principal")
        log_event(
            self.state.logger,
            "request",
            request_id=request_id,
            method=scope["method"],
            path=path,
            status=status,
            ms=round(elapsed * 1000, 2),
            key=getattr(principal, "key_id", None),
        )


class _BodyTooLarge(Exception):
    pass


def create_app(
    settings: Settings | None = None,
    backends: Backends | None = None,
    *,
    image_checker: ImageChecker | None = None,
) -> FastAPI:
    """The application. With no arguments, settings come from the environment (this is the
    factory ``aupguard serve`` gives uvicorn for every worker)."""
    settings = settings or load_settings()
    _one_blas_thread_per_request()
    backends = backends or build_backends(settings)
    records = _records_for(settings, backends)
    state = AppState(
        settings=settings,
        backends=backends,
        records=records,
        packs=PackManager(records, Limits(max_text_chars=settings.max_text_chars)),
        metrics=Metrics(),
        generator=make_generator(settings),
        logger=configure_logging(settings.log_level),
        image_checker=image_checker,
    )
    state.packs.use_hash_database(settings.hash_db_path)
    for collector in backends.collectors:
        state.metrics.registry.register(collector)  # type: ignore[arg-type]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_warm_up, state)
            yield
            tg.cancel_scope.cancel()
        records.close()
        app.state.review.close()
        if state.backends.close is not None:
            state.backends.close()

    app = FastAPI(
        title="aupguard",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        debug=False,  # never a stack trace to a client, whatever AUPGUARD_DEBUG says
    )
    app.state.aupguard = state
    for module in (checks, gateway, people, releases, admin, admin_accounts, ops, provenance):
        app.include_router(module.router)
    _install_error_handlers(app)
    # the reviewer UI at /review; its desk queues review verdicts, reports and appeals
    state.review = mount_review(app, settings, state.backends.store)
    app.add_middleware(EdgeMiddleware, state=state)
    return app


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _one_blas_thread_per_request() -> None:
    """Requests run their checks in parallel threads; a multi-threaded BLAS inside each one
    oversubscribes the cores (measured: +60% requests/s at 16 clients with one BLAS thread).
    Unless the operator set one of the thread variables, each BLAS gets one thread."""
    if any(os.environ.get(v) for v in THREAD_VARIABLES):
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - part of the server extra
        return
    threadpool_limits(limits=1)


def _records_for(settings: Settings, backends: Backends) -> RecordsStore:
    """The store backend keeps the service's records in its database (shared by every
    worker on every host); the embedded backend in a SQLite file in the data directory."""
    store = backends.store
    if store is not None:
        from aupguard.api.records_store import StoreRecords

        return StoreRecords(store)
    return Records(settings.db_path)


async def _warm_up(state: AppState) -> None:
    """Load the default pack's detectors and models before reporting ready."""
    try:
        moderator = state.packs.moderator(state.packs.choose(state.settings.default_policy).live)
        await anyio.to_thread.run_sync(moderator.check, "warm-up: a lighthouse at dusk")
        state.ready = True
        log_event(state.logger, "ready", policy=moderator.pack.ref)
    except Exception:
        state.logger.exception("warm-up failed; /readyz stays not ready")


def _request_id(request: Request) -> str | None:
    rid = getattr(request.state, "request_id", None)
    return rid if isinstance(rid, str) else None


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error_response(exc, _request_id(request))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
            details.append(f"{loc}: {err.get('msg', 'invalid')}")
        first = details[0] if details else "the request is malformed"
        param = first.split(":", 1)[0] if details else None
        error = ApiError(
            422, "invalid_request", f"invalid request: {first}", param=param, details=details
        )
        return _error_response(error, _request_id(request))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        error = ApiError(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail) if exc.status_code != 404 else f"no endpoint {request.url.path}",
            headers=dict(exc.headers or {}),
        )
        return _error_response(error, _request_id(request))


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the app (committed as docs/openapi.json)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp)))
        document = app.openapi()
        app.state.aupguard.records.close()
        return document
