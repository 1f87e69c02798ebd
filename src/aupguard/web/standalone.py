"""The reviewer UI alone (``aupguard review serve``): mounted at ``/review``, with ``/``
sending browsers there."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Mount, Route

from aupguard.review import ReviewDesk
from aupguard.web.app import create_review_app
from aupguard.web.security import WebSettings


def standalone_app(desk: ReviewDesk, settings: WebSettings) -> Starlette:
    async def home(request: Request) -> RedirectResponse:
        return RedirectResponse("/review/", status_code=307)

    return Starlette(
        routes=[
            Route("/", home),
            Mount("/review", app=create_review_app(desk, settings)),
        ]
    )
