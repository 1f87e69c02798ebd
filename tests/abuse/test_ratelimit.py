"""GCRA limits and quotas, in-process and in the real Redis, including real concurrency."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator

import pytest

from aupguard.abuse.ratelimit import (
    Limit,
    MemoryRateLimiter,
    Quota,
    RateLimiter,
    RedisRateLimiter,
)
from aupguard.store.testing import redis_test_url, redis_unavailable_reason, unique_name


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def limiter(request: pytest.FixtureRequest) -> Iterator[RateLimiter]:
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    if reason := redis_unavailable_reason():
        pytest.skip(reason)
    prefix = unique_name("aupg_test_rl") + ":"
    limiter = RedisRateLimiter.from_url(redis_test_url(), prefix=prefix)
    yield limiter
    client = limiter._client
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


def test_burst_then_refusal_with_headers(limiter: RateLimiter) -> None:
    limit = Limit("key:a", rate=1, burst=5)
    results = [limiter.decide([limit], [], 1) for _ in range(7)]
    assert [r.allowed for r in results] == [True] * 5 + [False] * 2
    assert results[0].headers()["RateLimit-Remaining"] == "4"
    assert results[4].headers()["RateLimit-Remaining"] == "0"
    refused = results[5].headers()
    assert refused["Retry-After"] == "1" and refused["RateLimit-Policy"] == "5;w=5"
    assert results[5].denied_by == "key:a" and "exceeded" in (results[5].reason or "")


def test_cost_weighting(limiter: RateLimiter) -> None:
    limit = Limit("key:img", rate=1, burst=10)
    assert limiter.decide([limit], [], 4).allowed  # a 4-megapixel image
    assert limiter.decide([limit], [], 4).allowed
    big = limiter.decide([limit], [], 4)
    assert not big.allowed and big.retry_after_seconds == pytest.approx(2, abs=0.2)
    assert limiter.decide([limit], [], 1).allowed  # a thumbnail still fits
    too_big = limiter.decide([limit], [], 11)
    assert not too_big.allowed and "at once" in (too_big.reason or "")
    assert "Retry-After" not in too_big.headers()


def test_all_limits_or_none(limiter: RateLimiter) -> None:
    key = Limit("key:k", rate=1, burst=100)
    account = Limit("acct:x", rate=1, burst=2)
    assert limiter.decide([key, account], [], 1).allowed
    assert limiter.decide([key, account], [], 1).allowed
    refused = limiter.decide([key, account], [], 1)
    assert not refused.allowed and refused.denied_by == "acct:x"
    # the refused request did not use up the key limit: 98 left, not 97
    assert limiter.decide([key], [], 1).remaining == pytest.approx(97, abs=0.1)


def test_quota(limiter: RateLimiter) -> None:
    limit = Limit("key:q", rate=1000, burst=1000)
    quota = Quota("acct:q:day:2025-03-01", limit=5, resets_in=3600)
    assert all(limiter.decide([limit], [quota], 1).allowed for _ in range(5))
    refused = limiter.decide([limit], [quota], 1)
    assert not refused.allowed and refused.denied_by == quota.key
    assert 3500 < (refused.retry_after_seconds or 0) <= 3600


@pytest.mark.parametrize("cost", [0, -1, float("nan"), float("inf")])
def test_bad_cost(limiter: RateLimiter, cost: float) -> None:
    with pytest.raises(ValueError, match="cost"):
        limiter.decide([Limit("k", 1, 1)], [], cost)


def test_bad_limits() -> None:
    with pytest.raises(ValueError, match="rate"):
        Limit("k", rate=0, burst=1)
    with pytest.raises(ValueError, match="burst"):
        Limit("k", rate=1, burst=0.5)


def test_memory_refill_over_time() -> None:
    now = FakeTime()
    limiter = MemoryRateLimiter(clock=now)
    limit = Limit("k", rate=2, burst=2)
    assert limiter.decide([limit], [], 2).allowed
    assert not limiter.decide([limit], [], 1).allowed
    now.now += 0.5  # one unit back at 2 units/s
    assert limiter.decide([limit], [], 1).allowed
    assert not limiter.decide([limit], [], 1).allowed


def test_threads_never_exceed_the_limit(limiter: RateLimiter) -> None:
    # a very slow rate: only the burst can be admitted during the test
    limit = Limit(unique_name("burst"), rate=0.001, burst=50)
    admitted: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        for _ in range(25):
            if limiter.decide([limit], [], 1).allowed:
                with lock:
                    admitted.append(n)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 50


def test_flowing_rate_starves_no_client(limiter: RateLimiter) -> None:
    rate, burst, seconds = 100.0, 5.0, 1.0
    limit = Limit(unique_name("flow"), rate=rate, burst=burst)
    per_client = [0] * 8
    start = time.monotonic()

    def client(n: int) -> None:
        while time.monotonic() - start < seconds:
            if limiter.decide([limit], [], 1).allowed:
                per_client[n] += 1
            time.sleep(0.002)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    assert sum(per_client) <= burst + rate * elapsed + 1
    assert sum(per_client) >= 0.5 * rate * seconds
    assert min(per_client) > 0, per_client


def _process_client(
    url: str, prefix: str, key: str, attempts: int, out: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    limiter = RedisRateLimiter.from_url(url, prefix=prefix)
    out.put(sum(limiter.decide([Limit(key, 0.001, 40)], [], 1).allowed for _ in range(attempts)))


def test_processes_share_one_redis_limit() -> None:
    if reason := redis_unavailable_reason():
        pytest.skip(reason)
    prefix = unique_name("aupg_test_rlp") + ":"
    ctx = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [
        ctx.Process(target=_process_client, args=(redis_test_url(), prefix, "shared", 30, out))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    counts = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sum(counts) == 40
    RedisRateLimiter.from_url(redis_test_url(), prefix=prefix)._client.delete(prefix + "shared")
