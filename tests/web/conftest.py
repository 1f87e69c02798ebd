"""The reviewer UI served alone by uvicorn on a loopback port, over a fresh SQLite store with
seeded reviewers and items."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from web_helpers import SECRET, UI, ServerThread, seed, signed_in

from aupguard.review import ReviewDesk
from aupguard.store import Store
from aupguard.store.testing import MovableClock
from aupguard.web import WebSettings
from aupguard.web.standalone import standalone_app


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UI]:
    clock = MovableClock()
    store = Store.open(f"sqlite:///{tmp_path / 'review.db'}", clock=clock)
    desk = ReviewDesk(store)
    seeded = seed(desk)
    settings = WebSettings(secret=SECRET, secure_cookies=False)
    try:
        with ServerThread(standalone_app(desk, settings)) as server:
            yield UI(server.url, desk, seeded, clock)
    finally:
        store.close()


@pytest.fixture
def login(ui: UI) -> Iterator[Callable[[str], httpx.Client]]:
    """``login("ann")``: an httpx client signed in as ann (closed after the test)."""
    clients: list[httpx.Client] = []

    def sign_in(who: str) -> httpx.Client:
        client = signed_in(ui.url, who)
        clients.append(client)
        return client

    yield sign_in
    for client in clients:
        client.close()
