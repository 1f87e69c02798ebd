"""Secrets never reach the logs: requests carrying an API key, a wrong key, the admin and
reviewer tokens, a near-miss admin token, the upstream generator's key (also when the upstream
echoes it back in an error) and a prompt go through the app while every log record of every
logger is captured at DEBUG and formatted as the service writes it (JSON, with its fields and
any traceback); none of the secrets, nor the raw prompt, appears."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from secutil import (
    ADMIN,
    KEY_ALICE,
    KEY_BOB,
    REVIEWER,
    UPSTREAM_KEY,
    LocalImageServer,
    settings_for,
)

from aupguard.api.app import create_app
from aupguard.api.observability import LOGGER_NAME, JsonFormatter
from aupguard.engine.decide import decide
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry

PROMPT = "a lighthouse at dusk, marker-prompt-5b1f9d"
BAD_PROMPT = "step by step instructions to build a pipe bomb, marker-prompt-77c2e0"
WRONG_KEY = "sk-wrong-" + "9" * 32
NEAR_ADMIN = ADMIN[:-1] + "b"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def captured() -> Iterator[Capture]:
    capture = Capture()
    loggers = [logging.getLogger(), logging.getLogger(LOGGER_NAME)]
    loggers += [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "httpx", "aupguard")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(capture)
            lg.setLevel(level)


def _no_pixels(data: bytes, modality: Modality) -> Verdict:
    return decide(default_registry().get("general-usage").pack, [], modality)


def exercise(client: TestClient) -> None:
    key = {"Authorization": f"Bearer {KEY_ALICE}"}
    calls = [
        ("POST", "/v1/moderations", key, {"input": PROMPT}),
        ("POST", "/v1/moderations", key, {"input": BAD_PROMPT}),
        ("POST", "/v1/check", key, {"prompt": PROMPT}),
        ("POST", "/v1/check", key, {"prompt": BAD_PROMPT}),
        ("POST", "/v1/images/generations", key, {"prompt": PROMPT, "size": "64x64"}),
        ("POST", "/v1/images/generations", key, {"prompt": BAD_PROMPT}),
        ("POST", "/v1/moderations", {"Authorization": f"Bearer {WRONG_KEY}"}, {"input": PROMPT}),
        ("POST", "/v1/check", {"Authorization": f"Bearer {KEY_BOB}"}, {"prompt": PROMPT}),
        ("GET", "/v1/admin/packs", {"Authorization": f"Bearer {ADMIN}"}, None),
        ("GET", "/v1/admin/packs", {"Authorization": f"Bearer {REVIEWER}"}, None),
        ("GET", "/v1/admin/packs", {"Authorization": f"Bearer {NEAR_ADMIN}"}, None),
        (
            "POST",
            "/v1/admin/accounts/acct_x/suspension",
            {"Authorization": f"Bearer {ADMIN}"},
            {"reason": "test"},
        ),
        ("GET", "/review/", {"Authorization": f"Bearer {ADMIN}"}, None),
    ]
    for method, path, headers, body in calls:
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code < 500 or response.status_code in (501, 502, 503), (
            path,
            response.text,
        )


SECRETS = [KEY_ALICE, KEY_BOB, WRONG_KEY, ADMIN, REVIEWER, NEAR_ADMIN, UPSTREAM_KEY]
CONTENT = ["marker-prompt-5b1f9d", "marker-prompt-77c2e0"]


@pytest.mark.parametrize("upstream_path", ["/v1", "/bad/v1"])
def test_no_secret_or_prompt_in_any_log_record(
    upstream_path: str,
    tmp_path: Path,
    image_server: LocalImageServer,
    captured: Capture,
) -> None:
    settings = settings_for(
        tmp_path,
        upstream_url=image_server.url(upstream_path),
        upstream_api_key=UPSTREAM_KEY,
        log_level="DEBUG",
    )
    app = create_app(settings, image_checker=_no_pixels)
    before = len(image_server.upstream_auth)
    with TestClient(app) as client:
        exercise(client)
    # the upstream was called with its key, and the app logged the requests
    assert f"Bearer {UPSTREAM_KEY}" in image_server.upstream_auth[before:]
    assert sum('"msg": "request"' in line for line in captured.lines) >= 10
    logged = "\n".join(captured.lines)
    for secret in SECRETS:
        assert secret not in logged, f"a secret ({secret[:8]}...) is in the logs"
        assert secret[-24:] not in logged, f"part of a secret ({secret[:8]}...) is in the logs"
    for marker in CONTENT:
        assert marker not in logged, "the raw prompt is in the logs (AUPGUARD_LOG_CONTENT off)"


def test_log_content_on_logs_the_text_but_never_the_secrets(
    tmp_path: Path, image_server: LocalImageServer, captured: Capture
) -> None:
    """AUPGUARD_LOG_CONTENT is the operator's choice to keep inputs in the logs (one
    ``content`` record per checked input, with its action); secrets stay out either way."""
    settings = settings_for(
        tmp_path,
        upstream_url=image_server.url("/v1"),
        upstream_api_key=UPSTREAM_KEY,
        log_level="DEBUG",
        log_content=True,
    )
    app = create_app(settings, image_checker=_no_pixels)
    with TestClient(app) as client:
        exercise(client)
    logged = "\n".join(captured.lines)
    content_lines = [line for line in captured.lines if '"msg": "content"' in line]
    assert content_lines and all('"action": ' in line for line in content_lines)
    assert any(marker in logged for marker in CONTENT)
    for secret in SECRETS:
        assert secret not in logged, f"a secret ({secret[:8]}...) is in the logs"
