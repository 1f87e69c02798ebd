"""The reviewer web UI: server-rendered pages (Jinja2) with a little plain JavaScript
(``static/review.js``: image reveal and keyboard shortcuts). Mounted at ``/review`` by the API
(``aupguard serve``) or served alone by ``aupguard review serve``.

Every route checks the signed-in reviewer's roles; every form post checks the CSRF token;
errors are HTML pages, never tracebacks.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from aupguard.review import (
    AuthenticationError,
    DecisionAction,
    DecisionInput,
    ForbiddenError,
    ItemKind,
    ItemNotFoundError,
    ReviewDesk,
    Reviewer,
    ReviewError,
    Role,
)
from aupguard.review.records import HAND_STEPS
from aupguard.web.charts import bar_chart
from aupguard.web.highlight import segments
from aupguard.web.security import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    WebSettings,
    csrf_ok,
    csrf_token,
    make_session,
    new_csrf_nonce,
    read_session,
)

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024
logger = logging.getLogger("aupguard.web")

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class _LoginRequired(Exception):
    pass


class _CsrfFailed(Exception):
    pass


class _FormError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def create_review_app(
    desk: ReviewDesk | Callable[[], ReviewDesk], settings: WebSettings
) -> FastAPI:
    """The UI as an ASGI app to mount (paths are relative to the mount point). ``desk`` may
    be a factory, called on first use (so mounting costs nothing until someone signs in)."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html", "svg"]),
    )
    env.filters["when"] = _when
    holder: dict[str, ReviewDesk] = {}

    def get_desk() -> ReviewDesk:
        if "desk" not in holder:
            holder["desk"] = desk if isinstance(desk, ReviewDesk) else desk()
        return holder["desk"]

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, debug=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    # -- plumbing -------------------------------------------------------------------------

    def base(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    def nonce_of(request: Request) -> tuple[str, bool]:
        nonce = request.cookies.get(CSRF_COOKIE)
        if nonce and len(nonce) == 32:
            return nonce, False
        return new_csrf_nonce(), True

    def render(
        request: Request,
        template: str,
        status: int = 200,
        reviewer: Reviewer | None = None,
        **context: Any,
    ) -> HTMLResponse:
        nonce, fresh = nonce_of(request)
        html = env.get_template(template).render(
            base=base(request),
            me=reviewer,
            csrf=csrf_token(settings.secret, nonce),
            msg=request.query_params.get("msg", "")[:300],
            Role=Role,
            now=get_desk().store.now() if holder else None,
            **context,
        )
        response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
        if fresh:
            _set_cookie(response, CSRF_COOKIE, nonce)
        return response

    def _set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path="/",
        )

    def redirect(request: Request, path: str, msg: str = "") -> RedirectResponse:
        url = base(request) + path
        if msg:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"msg": msg})
        return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)

    def current(request: Request, *roles: Role) -> Reviewer:
        username = read_session(settings.secret, request.cookies.get(SESSION_COOKIE))
        if username is None:
            raise _LoginRequired
        try:
            reviewer = get_desk().reviewer(username)
        except ItemNotFoundError:
            raise _LoginRequired from None
        if reviewer.disabled:
            raise _LoginRequired
        if roles and not reviewer.has(*roles):
            raise ForbiddenError(
                f"this page needs one of the roles {', '.join(r.value for r in roles)}"
            )
        return reviewer

    async def form(request: Request) -> dict[str, str]:
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise _FormError(f"the form is larger than {MAX_FORM_BYTES:,} bytes")
        try:
            parsed = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _FormError("the form is not UTF-8") from None
        fields = {k: v[-1] for k, v in parsed.items()}
        if not csrf_ok(settings.secret, request.cookies.get(CSRF_COOKIE), fields.get("csrf")):
            raise _CsrfFailed
        return fields

    # -- errors ---------------------------------------------------------------------------

    def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
        try:
            return render(request, "error.html", status, title=title, message=message)
        except Exception:  # the error page itself must not fail with a traceback
            logger.exception("error page failed")
            return HTMLResponse(f"<h1>{status}</h1>", status_code=status)

    @app.exception_handler(_LoginRequired)
    async def login_required(request: Request, exc: _LoginRequired) -> Response:
        if request.method != "GET":
            return error_page(request, 401, "Signed out", "Your session ended; sign in again.")
        target = request.url.path[len(base(request)) :] or "/"
        return redirect(request, "/login?" + urllib.parse.urlencode({"next": target}))

    @app.exception_handler(_CsrfFailed)
    async def csrf_failed(request: Request, exc: _CsrfFailed) -> Response:
        return error_page(
            request,
            403,
            "Form expired",
            "The form's security token is missing or wrong (CSRF check). Reload the page "
            "and try again.",
        )

    @app.exception_handler(_FormError)
    async def form_error(request: Request, exc: _FormError) -> Response:
        return error_page(request, 400, "Bad form", exc.message)

    @app.exception_handler(ItemNotFoundError)
    async def not_found(request: Request, exc: ItemNotFoundError) -> Response:
        return error_page(request, 404, "Not found", str(exc))

    @app.exception_handler(ForbiddenError)
    async def forbidden(request: Request, exc: ForbiddenError) -> Response:
        return error_page(request, 403, "Not allowed", str(exc))

    @app.exception_handler(AuthenticationError)
    async def bad_login(request: Request, exc: AuthenticationError) -> Response:
        return error_page(request, 401, "Sign-in failed", str(exc))

    @app.exception_handler(ReviewError)
    async def review_error(request: Request, exc: ReviewError) -> Response:
        return error_page(request, 400, "Cannot do that", str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 400, "Bad request", "the request is malformed")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
        return error_page(request, exc.status_code, title, str(exc.detail))

    # -- sign-in --------------------------------------------------------------------------

    @app.get("/login")
    async def login_page(request: Request) -> Response:
        return render(request, "login.html", next=request.query_params.get("next", "/"))

    @app.post("/login")
    async def login(request: Request) -> Response:
        fields = await form(request)
        try:
            reviewer = get_desk().authenticate(
                fields.get("username", ""), fields.get("password", "")
            )
        except AuthenticationError:
            return render(
                request, "login.html", 401, error="Unknown username or wrong password.", next="/"
            )
        target = fields.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        response = redirect(request, target)
        _set_cookie(
            response,
            SESSION_COOKIE,
            make_session(settings.secret, reviewer.username, settings.session_hours),
            max_age=settings.session_hours * 3600,
        )
        _set_cookie(response, CSRF_COOKIE, new_csrf_nonce())  # a fresh token per session
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        await form(request)
        response = redirect(request, "/login", "Signed out.")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- queues ---------------------------------------------------------------------------

    @app.get("/")
    async def queues(request: Request) -> Response:
        me = current(request)
        desk_ = get_desk()
        return render(request, "queues.html", reviewer=me, queues=desk_.queue_summaries(me))

    @app.get("/queues/{name}")
    async def queue_page(request: Request, name: str) -> Response:
        me = current(request)
        desk_ = get_desk()
        items = desk_.list_items(me, name)
        config = desk_.routing.queue(name)
        return render(request, "queue.html", reviewer=me, queue=config, items=items)

    @app.post("/queues/{name}/claim")
    async def claim_next(request: Request, name: str) -> Response:
        me = current(request)
        await form(request)
        item = get_desk().claim_next(me, name)
        if item is None:
            return redirect(request, "/", f"Nothing to claim in {name}.")
        return redirect(request, f"/items/{item.id}")

    # -- items ----------------------------------------------------------------------------

    @app.get("/items/{item_id}")
    async def item_page(request: Request, item_id: str) -> Response:
        me = current(request)
        desk_ = get_desk()
        item = desk_.item(item_id, me)
        hidden = item.child_safety and not desk_.revealed(item.id, me.username)
        history = (
            desk_.account_history(item.account_id, exclude=item.id) if item.account_id else None
        )
        spans = [
            (e.start, e.end, f"{e.category} {e.score or 0:.2f} {e.rule or ''}".strip())
            for e in item.verdict.evidence
            if e.start is not None and e.end is not None
        ]
        return render(
            request,
            "item.html",
            reviewer=me,
            item=item,
            hidden=hidden,
            segments=segments(item.content_text or "", spans) if not hidden else [],
            regions=[e for e in item.verdict.evidence if e.region],
            image_size=item.details.get("image_size"),
            reports=desk_.reports(item.id),
            decisions=desk_.decisions(item.id),
            history=history,
            similar=desk_.similar(item, me),
            steps=HAND_STEPS,
            claimed=item.claimed(desk_.store.now()),
            is_appeal=item.kind is ItemKind.APPEAL,
        )

    @app.get("/items/{item_id}/image")
    async def item_image(request: Request, item_id: str) -> Response:
        me = current(request)
        data, content_type = get_desk().image(item_id, me)
        if not content_type.startswith("image/"):
            content_type = "application/octet-stream"
        return Response(data, media_type=content_type, headers=SECURITY_HEADERS)

    @app.post("/items/{item_id}/claim")
    async def claim_item(request: Request, item_id: str) -> Response:
        me = current(request)
        await form(request)
        get_desk().claim(item_id, me)
        return redirect(request, f"/items/{item_id}")

    @app.post("/items/{item_id}/reveal")
    async def reveal(request: Request, item_id: str) -> Response:
        me = current(request)
        fields = await form(request)
        get_desk().reveal(item_id, me, fields.get("reason", ""))
        return redirect(request, f"/items/{item_id}", "Opened; the reason is in the audit log.")

    @app.post("/items/{item_id}/decide")
    async def decide(request: Request, item_id: str) -> Response:
        me = current(request)
        fields = await form(request)
        try:
            action = DecisionAction(fields.get("action", ""))
        except ValueError:
            raise ReviewError(f"unknown decision {fields.get('action', '')!r}") from None
        days_raw = fields.get("duration_days", "").strip()
        if days_raw and not days_raw.isdigit():
            raise ReviewError("duration_days must be a whole number of days")
        try:
            decision = DecisionInput(
                action=action,
                reason=fields.get("reason", ""),
                step=fields.get("step") or None,
                duration_days=int(days_raw) if days_raw else None,
                clause_id=fields.get("clause_id") or None,
            )
        except ValueError as exc:
            raise ReviewError(f"invalid decision: {exc}") from None
        item = get_desk().item(item_id, me)
        get_desk().decide(item_id, me, decision)
        if action is DecisionAction.NOTE:
            return redirect(request, f"/items/{item_id}", "Note added.")
        return redirect(request, f"/queues/{item.queue}", f"Decided {item_id}: {action.value}.")

    # -- the reviewer's settings ----------------------------------------------------------

    @app.get("/settings")
    async def settings_page(request: Request) -> Response:
        me = current(request)
        return render(request, "settings.html", reviewer=me)

    @app.post("/settings")
    async def save_settings(request: Request) -> Response:
        me = current(request)
        fields = await form(request)
        get_desk().set_blur(me.username, fields.get("blur_images") == "on")
        return redirect(request, "/settings", "Saved.")

    # -- admin ----------------------------------------------------------------------------

    @app.get("/admin/reviewers")
    async def reviewers_page(request: Request) -> Response:
        me = current(request, Role.ADMIN)
        return render(request, "reviewers.html", reviewer=me, reviewers=get_desk().reviewers())

    @app.post("/admin/reviewers")
    async def add_reviewer(request: Request) -> Response:
        me = current(request, Role.ADMIN)
        parsed = await _multi(request)
        roles = parsed.get("roles", [])
        try:
            get_desk().add_reviewer(
                _one(parsed, "username"), _one(parsed, "password"), roles, actor=me.username
            )
        except ValueError as exc:
            raise ReviewError(str(exc)) from None
        return redirect(request, "/admin/reviewers", "Reviewer added.")

    @app.post("/admin/reviewers/{username}/roles")
    async def set_roles(request: Request, username: str) -> Response:
        me = current(request, Role.ADMIN)
        parsed = await _multi(request)
        get_desk().set_roles(username, parsed.get("roles", []), actor=me.username)
        return redirect(request, "/admin/reviewers", f"Roles of {username} changed.")

    async def _multi(request: Request) -> dict[str, list[str]]:
        await form(request)  # size and CSRF checks
        body = (await request.body()).decode("utf-8")
        return urllib.parse.parse_qs(body, keep_blank_values=True)

    def _one(parsed: dict[str, list[str]], name: str) -> str:
        return (parsed.get(name) or [""])[-1]

    # -- audit and dashboard --------------------------------------------------------------

    @app.get("/audit")
    async def audit(request: Request) -> Response:
        me = current(request)
        return render(request, "audit.html", reviewer=me, events=get_desk().audit(limit=200))

    @app.get("/dashboard")
    async def dashboard(request: Request) -> Response:
        me = current(request, Role.SENIOR, Role.ADMIN)
        stats = get_desk().stats(days=int(request.query_params.get("days", "30") or 30))
        charts = {
            "By category": bar_chart(stats["by_category"]),
            "By queue (open)": bar_chart(stats["by_queue"]),
            "By decision": bar_chart(stats["by_action"]),
            "Decisions per reviewer": bar_chart(stats["by_reviewer"]),
            "Items per day": bar_chart(stats["by_day"]),
            "Overturned on appeal, % per category": bar_chart(stats["overturn"], unit="%"),
        }
        return render(request, "dashboard.html", reviewer=me, charts=charts)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Any]) -> Response:
        try:
            response: Response = await call_next(request)
        except Exception:  # never a traceback to the browser
            logger.exception("reviewer UI error")
            response = error_page(request, 500, "Something went wrong", "The error was logged.")
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        return response

    return app


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"
