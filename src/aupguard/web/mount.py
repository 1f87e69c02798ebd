"""How the HTTP service carries the review desk: ``mount_review(app, settings)`` mounts the
reviewer UI at ``/review`` and keeps one lazily opened ``ReviewDesk`` in ``app.state.review``,
which the report and appeal endpoints use to queue items."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from aupguard.review import ReviewDesk, load_routing

if TYPE_CHECKING:
    from fastapi import FastAPI

    from aupguard.store import Store

MOUNT_PATH = "/review"


class DeskHolder:
    """Opens the store (``AUPGUARD_DATABASE_URL``, else ``<data dir>/aupguard.db``) on first
    use, so a service that nobody reviews on pays nothing."""

    def __init__(self, url: str, store: Store | None = None):
        self.url = url
        self._desk: ReviewDesk | None = None
        self._store: Store | None = None
        self._shared = store  # the service's own store (store backend): used, never closed here
        self._lock = threading.Lock()

    def desk(self) -> ReviewDesk:
        with self._lock:
            if self._desk is None:
                from aupguard.store import Store

                routing = load_routing()
                if self._shared is not None:
                    self._desk = ReviewDesk(self._shared, routing)
                else:
                    self._store = Store.open(self.url)
                    self._desk = ReviewDesk(self._store, routing)
            return self._desk

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = None
            self._desk = None


def mount_review(app: FastAPI, settings: Any, store: Store | None = None) -> DeskHolder:
    """Mount the UI at ``/review`` on the API app; returns the desk holder (also kept in
    ``app.state.review``). ``store``: the service's own store (the store backend's), so the
    queue, the accounts and the ladder live in one database."""
    from aupguard.web.app import create_review_app
    from aupguard.web.security import web_settings_from_env

    holder = DeskHolder(settings.store_url, store)
    production = getattr(getattr(settings, "env", None), "value", "") == "production"
    try:
        web: Any = create_review_app(holder.desk, web_settings_from_env(production=production))
    except ValueError as exc:  # the API still serves; the UI says what to set
        web = _disabled(str(exc))
    app.mount(MOUNT_PATH, web, name="review")
    app.state.review = holder
    return holder


def _disabled(reason: str) -> Any:
    from html import escape

    from starlette.responses import HTMLResponse

    async def disabled(scope: Any, receive: Any, send: Any) -> None:
        body = f"<!doctype html><h1>Reviewer UI disabled</h1><p>{escape(reason)}</p>"
        await HTMLResponse(body, status_code=503)(scope, receive, send)

    return disabled


def desk_of(app: Any) -> ReviewDesk | None:
    """The app's review desk, or None if the reviewer UI is not mounted."""
    holder = getattr(app.state, "review", None)
    return holder.desk() if isinstance(holder, DeskHolder) else None
