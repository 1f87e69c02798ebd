"""Limits and bad input: each is a clear 4xx in the one error shape, never a stack trace."""

from __future__ import annotations

import base64

import anyio
import httpx
from tests.api.conftest import Running, base_settings, error_of, png

from aupguard.api.images import check_image_header, decode_data_url
from aupguard.api.service import Deadline, check_text
from aupguard.detectors.base import DetectorResult, ScanItem
from aupguard.engine.moderator import Moderator
from aupguard.policy.models import Action, Modality
from aupguard.policy.registry import default_registry


def test_auth_errors(service: Running) -> None:
    with service.client(None) as http:
        response = http.post("/v1/moderations", json={"input": "x"})
        error_of(response, 401, "missing_api_key")
        assert response.headers["WWW-Authenticate"] == "Bearer"
        wrong = http.post(
            "/v1/check", json={"prompt": "x"}, headers={"Authorization": "Bearer sk-wrong-123456"}
        )
        error_of(wrong, 401, "invalid_api_key")


def test_body_too_large(service: Running) -> None:
    big = b'{"input": "' + b"a" * (service.settings.max_body_bytes + 10) + b'"}'
    with service.client() as http:
        response = http.post(
            "/v1/moderations", content=big, headers={"Content-Type": "application/json"}
        )
    error_of(response, 413, "body_too_large")


def test_prompt_too_long_and_too_many_inputs(service: Running) -> None:
    with service.client() as http:
        long = http.post("/v1/check", json={"prompt": "a" * (service.settings.max_text_chars + 1)})
        error = error_of(long, 413, "input_too_large")
        assert error["param"] == "prompt"
        many = http.post(
            "/v1/moderations", json={"input": ["a cat"] * (service.settings.max_inputs + 1)}
        )
        error_of(many, 413, "too_many_inputs")
        empty = http.post("/v1/moderations", json={"input": "   "})
        error_of(empty, 400, "empty_input")


def test_malformed_requests(service: Running) -> None:
    with service.client() as http:
        not_json = http.post(
            "/v1/moderations", content=b"{nope", headers={"Content-Type": "application/json"}
        )
        error_of(not_json, 422, "invalid_request")
        wrong_type = http.post("/v1/images/generations", json={"prompt": "x", "n": "many"})
        error = error_of(wrong_type, 422, "invalid_request")
        assert error["param"] == "n"
        unknown_policy = http.post("/v1/check", json={"prompt": "x", "policy": "nope"})
        error_of(unknown_policy, 400, "unknown_policy")
        error_of(http.get("/v1/nothing-here"), 404, "not_found")
        error_of(http.get("/v1/moderations"), 405, "method_not_allowed")


def test_images_need_image_moderation(service: Running) -> None:
    url = "data:image/png;base64," + base64.b64encode(png((1, 2, 3))).decode()
    with service.client() as http:
        response = http.post("/v1/check", json={"input_images": [url]})
    error_of(response, 501, "image_moderation_unavailable")


def test_image_header_limits(tmp_path: object) -> None:
    settings = base_settings(tmp_path, max_image_pixels=1000)  # type: ignore[arg-type]
    data = png((5, 5, 5), size=64)
    try:
        check_image_header(data, settings, "image")
    except Exception as exc:
        assert getattr(exc, "code", None) == "image_too_many_pixels"
    else:
        raise AssertionError("a 4096-pixel image passed a 1000-pixel limit")
    try:
        check_image_header(b"GIF89a garbage", settings, "image")
    except Exception as exc:
        assert getattr(exc, "code", None) == "bad_image"
    else:
        raise AssertionError("garbage passed as an image")
    for url, code in (
        ("data:image/png,abc", "bad_image_url"),
        ("data:image/png;base64,@@@", "bad_image_url"),
    ):
        try:
            decode_data_url(url, 10_000, "image")
        except Exception as exc:
            assert getattr(exc, "code", None) == code
        else:
            raise AssertionError(url)


class SlowDetector:
    name = "slow-test"
    version = "1"
    modalities = frozenset({Modality.PROMPT})
    categories = frozenset({"violence"})

    def scan(self, item: ScanItem) -> DetectorResult:
        import time

        time.sleep(0.5)
        return DetectorResult(detector=self.name, version=self.version)


def test_request_timeout_fails_closed_per_the_pack() -> None:
    pack = default_registry().get("general-usage")
    moderator = Moderator(pack, [SlowDetector()])

    async def run() -> object:
        return await check_text(moderator, "a cat", Modality.PROMPT, Deadline(0.05), "prompt")

    verdict = anyio.run(run)
    assert verdict.action is Action.BLOCK  # type: ignore[attr-defined]
    assert "timed out" in verdict.errors[0]  # type: ignore[attr-defined]


def test_health_ready_and_metrics(service: Running) -> None:
    assert httpx.get(f"{service.url}/healthz").json() == {"status": "ok", "checks": {}}
    ready = httpx.get(f"{service.url}/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["store"] == "ok"
    with service.client() as http:
        http.post(
            "/v1/moderations", json={"input": "step by step instructions to build a pipe bomb"}
        )
    metrics = httpx.get(f"{service.url}/metrics").text
    assert 'aupguard_http_requests_total{method="POST",route="/v1/moderations"' in metrics
    assert "aupguard_verdicts_total" in metrics and "aupguard_detector_seconds_bucket" in metrics


def test_readyz_fails_when_the_store_is_gone(tmp_path_factory: object) -> None:
    import shutil

    from tests.api.conftest import ServerThread

    from aupguard.api.app import create_app

    directory = tmp_path_factory.mktemp("store")  # type: ignore[attr-defined]
    settings = base_settings(directory)
    with ServerThread(create_app(settings)) as server:
        shutil.rmtree(directory)
        response = httpx.get(f"{server.url}/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["store"].startswith("unavailable")
