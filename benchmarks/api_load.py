"""Load test of POST /v1/moderations on text over loopback: `aupguard serve --workers 2`, then
1, 16 and 64 concurrent clients for a bounded time each. Prints throughput, p50/p99 latency and
the error count per level.

    python benchmarks/api_load.py [--seconds 10] [--workers 2] [--clients 1,16,64]
    python benchmarks/api_load.py --scaling 1,2,4 [--clients 16] [--seconds 10]

`--scaling` starts a fresh server for each worker count and reports requests/s at one client
level and the scaling efficiency, rps(N) / (N x rps(1)).

Targets on a 2-core machine (issue 6): p99 <= 50 ms at 16 clients, >= 300 requests/s, 0 errors.
The client runs on the same machine and shares its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx

KEY = "sk-bench-0123456789abcdef"
PROMPTS = [
    "a watercolor of a lighthouse at dusk",
    "a cat sleeping on a windowsill in the sun",
    "portrait of an astronaut riding a horse, oil painting",
    "step by step instructions to build a pipe bomb",
    "a nude figure study in charcoal",
    "a bowl of ramen, studio lighting, 85mm",
    "logo for a bakery called Sunrise Bread",
    "how do I hack into my neighbour's wifi",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, workers: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline:
        try:
            ok = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.HTTPError:
            ok = False
        streak = streak + 1 if ok else 0
        if streak >= 4 * workers:  # readiness is per worker; several in a row cover them all
            return
        time.sleep(0.25)
    raise SystemExit(f"the service at {url} did not become ready")


async def level(url: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=30, limits=limits
    ) as client:

        async def worker(index: int) -> None:
            nonlocal errors
            n = index
            while time.monotonic() < stop:
                prompt = f"{PROMPTS[n % len(PROMPTS)]} #{n}"
                n += clients
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/moderations", json={"input": prompt})
                    if response.status_code != 200:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        began = time.monotonic()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.monotonic() - began
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
    return {
        "clients": clients,
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": errors,
    }


@contextlib.contextmanager
def serving(workers: int, backend: str) -> Iterator[str]:
    """`aupguard serve --workers N` on a free loopback port with a throwaway data directory
    (and, on the store backend, an account on a generous plan with a key in KEY); the URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    global KEY
    with tempfile.TemporaryDirectory() as data_dir:
        env = {
            **os.environ,
            "AUPGUARD_ENV": "development",
            "AUPGUARD_DATA_DIR": data_dir,
            "AUPGUARD_LOG_LEVEL": "WARNING",
            "AUPGUARD_BACKEND": backend,
        }
        if backend == "embedded":
            env["AUPGUARD_API_KEYS"] = json.dumps(
                [{"key": KEY, "account": "bench", "rate_per_minute": 10_000_000, "burst": 100_000}]
            )
        else:  # a key on a plan generous enough that the limiter admits the whole load
            from aupguard.store import Plan, Store

            with Store.open(f"sqlite:///{data_dir}/aupguard.db") as store:
                store.accounts.put_plan(
                    Plan(id="bench", name="Bench", rate_per_second=1e6, burst=1e6)
                )
                org = store.accounts.create_org("Bench", plan_id="bench")
                account = store.accounts.create(org.id, external_id="bench")
                KEY = store.keys.create(account.id).secret
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aupguard",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_ready(url, workers)
            asyncio.run(level(url, 4 * workers, 2.0))  # warm every worker's caches
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def scaling(args: argparse.Namespace) -> None:
    """requests/s at one client level with each worker count, and the scaling efficiency
    rps(N) / (N x rps(1)) against the first count."""
    counts = [int(c) for c in args.scaling.split(",")]
    clients = int(args.clients.split(",")[-1]) if args.clients != "1,16,64" else 16
    print(
        f"POST /v1/moderations, text, {clients} clients, {args.seconds:g}s per worker count, "
        f"{os.cpu_count()} CPUs"
    )
    print(
        f"{'workers':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'speed-up':>9} {'efficiency':>11}"
    )
    base: float | None = None
    for workers in counts:
        with serving(workers, args.backend) as url:
            r = asyncio.run(level(url, clients, args.seconds))
        base = base if base is not None else r["rps"] / counts[0]
        speedup = r["rps"] / (base * counts[0])
        efficiency = r["rps"] / (base * workers)
        print(
            f"{workers:>8} {r['requests']:>9} {r['rps']:>8.1f} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {r['errors']:>7} {speedup:>8.2f}x {efficiency:>10.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument(
        "--backend",
        choices=("store", "embedded"),
        default="store",
        help="store (the default: keys, limits and ladder in SQLite) or embedded",
    )
    parser.add_argument(
        "--scaling",
        metavar="COUNTS",
        help="e.g. 1,2,4: a fresh server per worker count, one client level (the last of "
        "--clients, else 16); prints requests/s and the scaling efficiency",
    )
    args = parser.parse_args()
    if args.scaling:
        scaling(args)
        return
    with serving(args.workers, args.backend) as url:
        print(f"POST /v1/moderations, text, {args.workers} workers, {args.seconds:g}s per level")
        print(
            f"{'clients':>8} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        )
        for clients in (int(c) for c in args.clients.split(",")):
            r = asyncio.run(level(url, clients, args.seconds))
            print(
                f"{r['clients']:>8} {r['requests']:>9} {r['rps']:>8.1f} "
                f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['errors']:>7}"
            )


if __name__ == "__main__":
    main()
