"""Cost of the per-request abuse checks.

    python benchmarks/abuse_speed.py [--n 3000] [--seconds 2] [--policy gpt-image2-design]

Prints:
  * behaviour-check latency (p50/p99): recording the request in the history, the seven
    behaviour detectors and the engine's decision, with the history in-process and in Redis
    (``AUPGUARD_TEST_REDIS_URL``, default redis://127.0.0.1:6379/0; skipped if absent);
    targets: <= 1 ms p50 in-process, <= 3 ms with Redis on loopback;
  * the whole ``Guard.admit`` (standing, credits, behaviour, limits) on a SQLite file, for
    reference;
  * rate-limit decisions per second at 1, 8 and 64 concurrent clients (threads), in-process and
    Redis.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from aupguard.abuse.history import MemoryHistory, RedisHistory, RequestEvent, prompt_shape
from aupguard.abuse.monitor import BehaviourMonitor
from aupguard.abuse.ratelimit import Limit, MemoryRateLimiter, RateLimiter, RedisRateLimiter
from aupguard.enforcement import Guard, RequestInfo
from aupguard.policy.registry import default_registry
from aupguard.store import Plan, Store
from aupguard.store.identity import network_of
from aupguard.store.testing import redis_test_url, redis_unavailable_reason, unique_name

PROMPTS = [
    "a watercolor of a lighthouse at dusk",
    "product photo of a white sneaker on grey",
    "portrait of an astronaut cat, studio light",
    "isometric city block, pastel colours",
    "a bowl of ramen, top view, 35mm",
    "logo of a fox made of triangles",
]


def _percentiles(samples: list[float]) -> str:
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99) - 1]
    return f"p50 {p50 * 1000:.3f} ms  p99 {p99 * 1000:.3f} ms"


def _setup(store: Store, accounts: int) -> list[tuple[str, str]]:
    store.accounts.put_plan(
        Plan(id="bench", name="Bench", rate_per_second=1e6, burst=1e6, credit_prices={"*": 0})
    )
    org = store.accounts.create_org("Bench", plan_id="bench")
    out = []
    for i in range(accounts):
        acct = store.accounts.create(org.id, email=f"user{i}@example.com")
        store.accounts.observe(acct.id, ip=f"198.51.{i % 200}.7", device=f"dev-{i}")
        out.append((acct.id, store.keys.create(acct.id).secret))
    return out


def bench_behaviour(
    store: Store, monitor: BehaviourMonitor, accounts: list[tuple[str, str]], n: int
) -> str:
    rng = random.Random(0)
    start = store.now()
    samples = []
    for i in range(n):
        account_id, _ = rng.choice(accounts)
        ip = f"203.0.{rng.randrange(4)}.{rng.randrange(250)}"
        event = RequestEvent(
            at=start + dt.timedelta(milliseconds=250 * i),
            account_id=account_id,
            key_id=f"key-{account_id}",
            ip=ip,
            network=network_of(ip),
            device="dev",
            shape=prompt_shape(rng.choice(PROMPTS)),
        )
        t = time.perf_counter()
        monitor.check(event)
        samples.append(time.perf_counter() - t)
    return _percentiles(samples[n // 10 :])  # after the caches are warm


def bench_admit(guard: Guard, accounts: list[tuple[str, str]], n: int) -> str:
    principals = [guard.authenticate(secret) for _, secret in accounts]
    rng = random.Random(1)
    samples = []
    for _ in range(n):
        p = rng.choice(principals)
        t = time.perf_counter()
        decision = guard.admit(RequestInfo(principal=p, ip="192.0.2.1", prompt=rng.choice(PROMPTS)))
        samples.append(time.perf_counter() - t)
        assert decision.allowed, decision.message
    return _percentiles(samples[n // 10 :])


def bench_limiter(make: Callable[[], RateLimiter], clients: int, seconds: float) -> float:
    limiter = make()
    counts = [0] * clients
    stop = time.monotonic() + seconds
    barrier = threading.Barrier(clients)

    def client(i: int) -> None:
        limit = Limit(f"bench:{i % 16}", rate=1e9, burst=1e9)
        barrier.wait()
        while time.monotonic() < stop:
            limiter.decide([limit], [], 1.0)
            counts[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--policy", default="gpt-image2-design")
    args = parser.parse_args()
    pack = default_registry().get(args.policy).pack
    redis_reason = redis_unavailable_reason()
    prefix = unique_name("aupg_bench") + ":"

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        accounts = _setup(store, 50)
        print(f"policy {pack.id}@{pack.version}, {args.n} requests, 50 accounts")
        monitor = BehaviourMonitor(store, pack, MemoryHistory())
        print(
            f"behaviour check, in-process history : {bench_behaviour(store, monitor, accounts, args.n)}"
        )
        if redis_reason is None:
            history = RedisHistory.from_url(redis_test_url(), prefix=prefix + "h1:")
            monitor = BehaviourMonitor(store, pack, history)
            print(
                f"behaviour check, Redis history      : {bench_behaviour(store, monitor, accounts, args.n)}"
            )
        else:
            print(f"behaviour check, Redis history      : skipped ({redis_reason})")
        guard = Guard(store, pack)
        print(f"Guard.admit (SQLite, in-process)    : {bench_admit(guard, accounts, args.n // 3)}")
        if redis_reason is None:
            guard = Guard(
                store,
                pack,
                limiter=RedisRateLimiter.from_url(redis_test_url(), prefix=prefix),
                history=RedisHistory.from_url(redis_test_url(), prefix=prefix + "h:"),
            )
            print(
                f"Guard.admit (SQLite, Redis)         : {bench_admit(guard, accounts, args.n // 3)}"
            )
        store.close()

    for clients in (1, 8, 64):
        memory = bench_limiter(MemoryRateLimiter, clients, args.seconds)
        line = f"rate-limit decisions/s, {clients:>2} clients: in-process {memory:>9,.0f}"
        if redis_reason is None:
            redis_rate = bench_limiter(
                lambda: RedisRateLimiter.from_url(redis_test_url(), prefix=prefix),
                clients,
                args.seconds,
            )
            line += f"  Redis {redis_rate:>8,.0f}"
        print(line)

    if redis_reason is None:
        import redis

        client = redis.Redis.from_url(redis_test_url())
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)


if __name__ == "__main__":
    main()
