"""Redis down: with AUPGUARD_REDIS_FALLBACK=local the limits and the request history fall back
to this process's own (still enforced, counted on /metrics); with the default the request is
refused (fail closed). Redis is a closed port here: no Redis server is stopped."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from aupguard.abuse.fallback import FallbackCounter, FallbackRateLimiter, is_unavailable
from aupguard.abuse.ratelimit import Limit, RedisRateLimiter
from aupguard.store.testing import redis_test_url, redis_unavailable_reason, unique_name


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"  # nothing listens there once the socket is closed


def test_local_limits_while_redis_is_down_and_counted() -> None:
    counter = FallbackCounter()
    limiter = FallbackRateLimiter(RedisRateLimiter.from_url(closed_port_url()), counter)
    limit = [Limit("key:k1", 0.01, 2)]
    decisions = [limiter.decide(limit, [], 1.0).allowed for _ in range(3)]
    assert decisions == [True, True, False]  # still limited, by this process
    assert counter.counts() == {"rate_limits": 3}


def test_back_on_redis_as_soon_as_it_answers() -> None:
    if reason := redis_unavailable_reason():
        pytest.skip(reason)
    counter = FallbackCounter()
    prefix = unique_name("aupg_fb") + ":"
    limiter = FallbackRateLimiter(
        RedisRateLimiter.from_url(redis_test_url(), prefix=prefix), counter
    )
    assert limiter.decide([Limit("key:k2", 0.01, 1)], [], 1.0).allowed
    assert counter.counts() == {}


def test_programming_errors_are_not_swallowed() -> None:
    assert is_unavailable(ConnectionRefusedError()) and not is_unavailable(ValueError("bug"))


def test_service_degrades_to_local_limits_or_refuses(tmp_path: Path) -> None:
    from tests.api.conftest import ADMIN, ServerThread, wait_ready

    from aupguard.api.app import create_app
    from aupguard.api.settings import load_settings
    from aupguard.store import Store

    url = closed_port_url()
    statuses = {}
    for mode in ("local", "closed"):
        data = tmp_path / mode
        settings = load_settings(
            {},
            env="test",
            backend="store",
            admin_token=ADMIN,
            data_dir=data,
            redis_url=url,
            redis_fallback=mode,
            image_moderation=False,
            provenance=False,
        )
        with Store.open(settings.store_url) as store:
            org = store.accounts.create_org("Acme")
            account = store.accounts.create(org.id)
            key = store.keys.create(account.id).secret
        with ServerThread(create_app(settings)) as server:
            wait_ready(server.url)
            response = httpx.post(
                f"{server.url}/v1/moderations",
                json={"input": "a lighthouse"},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )
            statuses[mode] = response.status_code
            metrics = httpx.get(f"{server.url}/metrics").text
        if mode == "local":
            assert 'aupguard_redis_fallback_total{component="rate_limits"}' in metrics
        else:
            assert response.json()["error"]["code"] == "service_unavailable"
            assert "Retry-After" in response.headers
    assert statuses == {"local": 200, "closed": 503}
