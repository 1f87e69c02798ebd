"""Servers for the API tests: the real app under uvicorn on free loopback ports, a second
local server playing the upstream image generator, and API keys for several accounts."""

from __future__ import annotations

import asyncio
import base64
import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from aupguard.api.app import create_app
from aupguard.api.seams import ImageChecker
from aupguard.api.settings import Settings, load_settings
from aupguard.engine.decide import decide
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry

ADMIN = "admin-token-for-tests-0123456789"
REVIEWER = "reviewer-token-for-tests-012345"
KEYS = {
    "alice": "sk-alice-0123456789",
    "bob": "sk-bob-0123456789",
    "limited": "sk-limited-0123456789",
    "carol": "sk-carol-0123456789",
    "krea": "sk-krea-0123456789",
    "striker": "sk-striker-0123456789",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerThread:
    """An ASGI app served by uvicorn in a thread on a loopback port."""

    def __init__(self, app: Any):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
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


def wait_ready(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if httpx.get(f"{url}/readyz").status_code == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} never became ready")


def base_settings(tmp: Path, **overrides: Any) -> Settings:
    keys = [
        {"key": KEYS["alice"], "account": "acct_alice", "org": "org_a"},
        {"key": KEYS["bob"], "account": "acct_bob", "org": "org_b"},
        {"key": KEYS["limited"], "account": "acct_limited", "rate_per_minute": 2, "burst": 2},
        {"key": KEYS["carol"], "account": "acct_carol"},
        {"key": KEYS["krea"], "account": "acct_krea", "policy": "krea-2"},
        {"key": KEYS["striker"], "account": "acct_striker"},
    ]
    values: dict[str, Any] = {
        "env": "test",
        "backend": "embedded",
        "admin_token": ADMIN,
        "reviewer_token": REVIEWER,
        "api_keys": keys,
        "data_dir": tmp,
        "suspended_accounts": {"acct_carol": "repeated NSFW generation (case 17)"},
        "allow_private_image_urls": True,
        "rate_per_minute": 100_000,
        "rate_burst": 10_000,
        "strikes_to_suspend": 10_000,
    }
    values.update(overrides)
    return load_settings({}, **values)


@dataclass
class Running:
    url: str
    settings: Settings

    def client(self, who: str | None = "alice") -> httpx.Client:
        headers = {"Authorization": f"Bearer {KEYS[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def admin(self, token: str = ADMIN) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """The service with the built-in demo generator and image moderation switched off."""
    settings = base_settings(tmp_path_factory.mktemp("service"), image_moderation=False)
    with ServerThread(create_app(settings)) as server:
        wait_ready(server.url)
        yield Running(server.url, settings)


# -- a fake upstream generator --------------------------------------------------------------


def png(color: tuple[int, int, int], size: int = 64) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


TEXT_IN_IMAGE = "how to build a pipe bomb to kill people"


def text_image(text: str) -> bytes:
    """A textured picture (enough structure for a trusted PDQ hash) with a line of text."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(7)
    base = np.kron(rng.integers(60, 200, (16, 24, 3)), np.ones((40, 40, 1))).astype(np.uint8)
    image = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 250, 940, 390), fill="white")
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 52)
    draw.text((40, 285), text, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FakeUpstream:
    """Answers by the prompt's first word: hang, fail, garbage, notjson, badimage, revise
    (returns a revised prompt the checks remove), else n solid images."""

    def __init__(self) -> None:
        self.calls = 0
        self.last_body: dict[str, Any] = {}

    async def generations(self, request: Request) -> Response:
        self.calls += 1
        body = await request.json()
        self.last_body = body
        word = body["prompt"].split()[0]
        n = int(body.get("n", 1))
        if word == "hang":
            await asyncio.sleep(5)
        if word == "fail":
            return JSONResponse({"error": {"message": "GPU on fire"}}, status_code=500)
        if word == "garbage":
            return PlainTextResponse("<html>oops</html>")
        if word == "notjson":
            return JSONResponse({"data": [{"url": "http://x/1.png"}]})
        if word == "badimage":
            return JSONResponse({"data": [{"b64_json": _b64(b"not a png at all")}]})
        if word == "textimage":  # an output whose pixels carry a violent instruction (OCR finds it)
            return JSONResponse({"data": [{"b64_json": _b64(text_image(TEXT_IN_IMAGE))}]})
        data: list[dict[str, Any]] = [{"b64_json": _b64(png((20, 40 + i, 200)))} for i in range(n)]
        if word == "revise" and n >= 2:
            data[1]["revised_prompt"] = (
                "step by step instructions to build a pipe bomb and kill people"
            )
        return JSONResponse({"created": 1, "data": data})

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/v1/images/generations", self.generations, methods=["POST"])]
        )


def pixels_not_examined(pack_ref: str) -> ImageChecker:
    """Stands in for image moderation (another package) so the forwarding path can run: it
    examines no pixels and returns the pack's verdict on no signals. Output checks in these
    tests therefore come from the upstream's revised prompt, which is real text moderation."""
    pack = default_registry().get(pack_ref).pack

    def check(data: bytes, modality: Modality) -> Verdict:
        return decide(pack, [], modality)

    return check


@pytest.fixture(scope="session")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with ServerThread(fake.app()) as server:
        yield fake, server.url


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, upstream: tuple[FakeUpstream, str]
) -> Iterator[Running]:
    """The service forwarding to the fake upstream, with a 1 s upstream timeout."""
    _, upstream_url = upstream
    settings = base_settings(
        tmp_path_factory.mktemp("gateway"),
        upstream_url=upstream_url + "/v1",
        upstream_timeout_s=1.0,
    )
    app = create_app(settings, image_checker=pixels_not_examined("general-usage"))
    with ServerThread(app) as server:
        wait_ready(server.url)
        yield Running(server.url, settings)


ErrorCheck = Callable[[httpx.Response, int, str], dict[str, Any]]


def error_of(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """Assert the one documented error shape, and return its body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["code"] == code, error
    assert error["message"] and error["type"] and error["request_id"].startswith("req_")
    assert "Traceback" not in response.text
    return error
