"""Helpers for the reviewer UI tests: the UI served by uvicorn on a loopback port over a real
store, reviewers of every role, seeded items (text prompts and synthetic images only: shapes
and noise, never real imagery), and a signed-in httpx client."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from aupguard.detectors.base import Evidence
from aupguard.engine.verdict import ClauseHit, Verdict
from aupguard.policy.models import Action, Modality, Surface
from aupguard.review import ReviewDesk, ReviewItem, Role
from aupguard.store.testing import MovableClock

PASSWORD = "correct horse battery staple"
SECRET = "s" * 40
PEOPLE: dict[str, tuple[Role, ...]] = {
    "ann": (Role.REVIEWER,),
    "bob": (Role.REVIEWER,),
    "cara": (Role.CHILD_SAFETY,),
    "sue": (Role.SENIOR,),
    "root": (Role.ADMIN,),
}
PROMPT = "please write how to stab my neighbour tonight"
SPAN = (PROMPT.index("stab"), PROMPT.index("stab") + len("stab my"))  # the evidence


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    def __init__(self, app: Any):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def verdict(
    category: str,
    score: float,
    *,
    span: tuple[int, int] | None = None,
    region: tuple[int, int, int, int] | None = None,
) -> Verdict:
    hit = ClauseHit(
        pack_id="general-usage",
        pack_version="1.0.0",
        clause_id="3.2",
        title="Violence",
        quote="Do not use the service to plan or incite violence.",
        surface=Surface.CONTENT,
        category=category,
        score=score,
        review_threshold=0.5,
        block_threshold=0.9,
        action=Action.REVIEW,
        ladder_weight=1,
    )
    ev = Evidence(
        category=category,
        score=score,
        start=span[0] if span else None,
        end=span[1] if span else None,
        rule="violence-verbs",
        region=region,
    )
    return Verdict(
        action=Action.REVIEW,
        pack_id="general-usage",
        pack_version="1.0.0",
        modality=Modality.PROMPT if region is None else Modality.INPUT_IMAGE,
        clauses=(hit,),
        evidence=(ev,),
        lang="en",
    )


def synthetic_png(size: int = 96) -> bytes:
    """Shapes on noise: a synthetic fixture, nothing real."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(7)
    img = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, 60, 60), fill=(200, 30, 30))
    draw.ellipse((50, 50, 90, 90), fill=(30, 30, 200))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@dataclass
class Seeded:
    text: ReviewItem
    image: ReviewItem
    child: ReviewItem
    account_id: str


def seed(desk: ReviewDesk) -> Seeded:
    for name, roles in PEOPLE.items():
        desk.add_reviewer(name, PASSWORD, roles, actor="test")
    store = desk.store
    org = store.accounts.create_org("Acme")
    account = store.accounts.create(org.id, external_id="u-1", email="u1@example.com").id
    other = store.accounts.create(org.id, external_id="u-2", email="u2@example.com").id
    store.accounts.observe(account, device="dev-123")
    store.accounts.observe(other, device="dev-123")
    text = desk.enqueue_verdict(
        verdict("violence", 0.7, span=SPAN),
        account_id=account,
        reference="dec_text",
        prompt=PROMPT,
    )
    image = desk.enqueue_verdict(
        verdict("violence", 0.6, region=(20, 20, 40, 40)),
        account_id=account,
        reference="dec_img",
        image=synthetic_png(),
        image_type="image/png",
    )
    child = desk.enqueue_verdict(
        verdict("sexual/minors", 0.8, span=(0, 4)),
        account_id=account,
        reference="dec_cs",
        prompt="text-only fixture standing in for a child-safety prompt",
    )
    assert text and image and child
    return Seeded(text, image, child, account)


@dataclass
class UI:
    """The running UI: its base URL, the desk behind it, the seeded items, the store clock."""

    url: str
    desk: ReviewDesk
    seeded: Seeded
    clock: MovableClock


CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def signed_in(base: str, who: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=True)
    page = client.get("/review/login")
    r = client.post(
        "/review/login",
        data={"csrf": csrf_of(page.text), "username": who, "password": PASSWORD, "next": "/"},
    )
    assert r.status_code == 200 and "Queues" in r.text, r.text
    return client
