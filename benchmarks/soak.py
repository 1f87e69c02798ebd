"""Soak test: `aupguard serve --workers N` on the store backend (a throwaway SQLite file) under a
fixed request rate for a bounded time, over a mix of POST /v1/moderations, /v1/check and
/v1/images/generations (the demo generator). Prints throughput, p50/p99 latency, the error
count, and the resident memory (RSS) of the worker processes sampled over time with its slope
(MB/min, least squares): memory must stay flat.

    python benchmarks/soak.py [--minutes 10] [--rate 5] [--workers 2]
        [--mix moderations=10,check=6,generations=1] [--sample-seconds 5]
        [--warmup-seconds 60] [--max-slope 1.0] [--json out.json]

Open loop: requests are sent at their scheduled times (Poisson arrivals at the mean --rate,
round-robin over --accounts keys) whatever the answers before them, so a slow
server shows as latency (and, past --max-in-flight outstanding requests, as skipped sends
counted as errors), not as a lower offered rate. The slope is fitted on the samples after
--warmup-seconds (caches, detector models and connection pools fill during the first minute);
the whole-run slope is printed beside it. Exit status 1 when there were errors or the
post-warm-up slope of the workers' total RSS is above --max-slope MB/min. Not run in CI.
The client runs on the same machine and shares its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contextlib

from api_load import free_port, wait_ready

TEXTS = [
    "a watercolor of a lighthouse at dusk",
    "a cat sleeping on a windowsill in the sun",
    "portrait of an astronaut riding a horse, oil painting",
    "a bowl of ramen, studio lighting, 85mm",
    "logo for a bakery called Sunrise Bread",
    "a quiet mountain lake at sunrise, mist over the water",
    "isometric illustration of a tiny library",
    "how do I hack into my neighbour's wifi",  # flagged: moderations only (no strikes there)
]
BENIGN = TEXTS[:-1]  # check and generations enforce: benign prompts keep the account standing


def request_for(kind: str, n: int) -> tuple[str, dict[str, Any]]:
    """The path and JSON body of the n-th request of a kind (distinct text every time, so no
    cache anywhere answers twice)."""
    if kind == "moderations":
        return "/v1/moderations", {"input": f"{TEXTS[n % len(TEXTS)]} #{n}"}
    if kind == "check":
        return "/v1/check", {"prompt": f"{BENIGN[n % len(BENIGN)]} #{n}"}
    if kind == "generations":
        prompt = f"{BENIGN[n % len(BENIGN)]} #{n}"
        return "/v1/images/generations", {"prompt": prompt, "size": "64x64"}
    raise ValueError(f"unknown request kind {kind!r}")


def parse_mix(text: str) -> list[str]:
    """`moderations=5,check=3,generations=2` -> a repeating schedule of kinds."""
    schedule: list[str] = []
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        request_for(kind.strip(), 0)  # validates the name
        schedule += [kind.strip()] * int(weight or 1)
    if not schedule:
        raise SystemExit("--mix names no request kind")
    # interleave: 5,3,2 -> m c g m c g m c m m, not m m m m m c c c g g
    counts = Counter(schedule)
    out: list[str] = []
    while counts:
        for kind in list(counts):
            out.append(kind)
            counts[kind] -= 1
            if not counts[kind]:
                del counts[kind]
    return out


# -- memory -------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        import psutil

        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def worker_pids(server: int) -> list[int]:
    """uvicorn's worker processes (spawned children running `spawn_main`); with one worker,
    uvicorn serves in the server process itself."""
    workers = [p for p in _children(server) if "spawn_main" in _cmdline(p)]
    return workers or [server]


def rss_mb(pid: int) -> float | None:
    try:
        import psutil

        try:
            return float(psutil.Process(pid).memory_info().rss) / 2**20
        except psutil.Error:
            return None
    except ImportError:
        pass
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        return None
    return None


def slope_per_minute(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 2:
        return 0.0
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return 60 * sum((x - mx) * (y - my) for x, y in points) / sxx


async def sample_memory(
    server: int,
    began: float,
    every: float,
    stop: asyncio.Event,
    samples: list[dict[str, Any]],
    echo: Callable[[str], None],
) -> None:
    while not stop.is_set():
        pids = worker_pids(server)
        per = {pid: rss_mb(pid) for pid in pids}
        alive = {pid: mb for pid, mb in per.items() if mb is not None}
        sample = {
            "t": round(time.monotonic() - began, 2),
            "total_mb": round(sum(alive.values()), 2),
            "workers": {str(pid): round(mb, 2) for pid, mb in alive.items()},
        }
        samples.append(sample)
        echo(
            f"  t={sample['t']:>7.1f}s  workers RSS "
            + " ".join(f"{mb:.1f}" for mb in alive.values())
            + f"  total {sample['total_mb']:.1f} MB"
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)


# -- load ---------------------------------------------------------------------------------------


async def soak(
    url: str,
    keys: list[str],
    server: int,
    *,
    seconds: float,
    rate: float,
    schedule: list[str],
    sample_every: float,
    max_in_flight: int,
    poisson: bool,
) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {kind: [] for kind in set(schedule)}
    statuses: Counter[str] = Counter()
    first_errors: dict[str, str] = {}  # one answer body per failing kind and status
    errors = 0
    skipped = 0
    samples: list[dict[str, Any]] = []
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    rng = random.Random(0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        in_flight: set[asyncio.Task[None]] = set()

        async def one(kind: str, n: int) -> None:
            nonlocal errors
            path, body = request_for(kind, n)
            started = time.perf_counter()
            try:
                auth = {"Authorization": f"Bearer {keys[n % len(keys)]}"}
                response = await client.post(path, json=body, headers=auth)
                statuses[f"{kind} {response.status_code}"] += 1
                if response.status_code != 200:
                    errors += 1
                    first_errors.setdefault(f"{kind} {response.status_code}", response.text[:300])
            except httpx.HTTPError as exc:
                statuses[f"{kind} {type(exc).__name__}"] += 1
                errors += 1
            latencies[kind].append(time.perf_counter() - started)

        began = time.monotonic()
        sampler = asyncio.create_task(
            sample_memory(server, began, sample_every, stop, samples, print)
        )
        n = 0
        offset = 0.0
        while True:
            due = began + offset
            if offset >= seconds:
                break
            # Poisson arrivals (the mean rate fixed, the gaps random): a metronome is what the
            # behaviour detectors flag as a scraping bot (403 behaviour_blocked)
            offset += rng.expovariate(rate) if poisson else 1 / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            kind = schedule[n % len(schedule)]
            if len(in_flight) >= max_in_flight:
                skipped += 1  # the server is this far behind: count it, do not queue forever
                statuses[f"{kind} skipped"] += 1
            else:
                task = asyncio.create_task(one(kind, n))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
            n += 1
        if in_flight:
            await asyncio.gather(*in_flight)
        elapsed = time.monotonic() - began
        stop.set()
        await sampler
    return {
        "sent": n - skipped,
        "skipped": skipped,
        "elapsed_s": elapsed,
        "errors": errors + skipped,
        "statuses": dict(sorted(statuses.items())),
        "first_errors": first_errors,
        "latencies": latencies,
        "samples": samples,
    }


async def warm(url: str, key: str, kinds: set[str], workers: int, limit_s: float = 180) -> float:
    """Load every worker's detectors and image models before measuring: rounds of each kind,
    `workers` at a time, until a round is quick (or `limit_s` passed). Returns the seconds."""
    began = time.monotonic()
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120
    ) as client:
        n = 10**6  # numbered apart from the soak's requests
        while time.monotonic() - began < limit_s:
            round_began = time.monotonic()
            calls = []
            for kind in sorted(kinds):
                for _ in range(2 * workers):
                    path, body = request_for(kind, n)
                    calls.append(client.post(path, json=body))
                    n += 1
            await asyncio.gather(*calls, return_exceptions=True)
            if time.monotonic() - round_began < 5:
                break
    return time.monotonic() - began


def quantiles_ms(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    if len(values) == 1:
        return values[0] * 1000, values[0] * 1000
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[98] * 1000


def create_keys(data_dir: str, accounts: int) -> list[str]:
    """Accounts on a plan generous enough that the limiter admits the whole load, and one API
    key each, in the store the server will open."""
    from aupguard.store import Plan, Store

    keys: list[str] = []
    with Store.open(f"sqlite:///{data_dir}/aupguard.db") as store:
        store.accounts.put_plan(Plan(id="soak", name="Soak", rate_per_second=1e6, burst=1e6))
        org = store.accounts.create_org("Soak", plan_id="soak")
        for i in range(accounts):
            account = store.accounts.create(org.id, external_id=f"soak-{i}")
            keys.append(store.keys.create(account.id).secret)
    return keys


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mix", default="moderations=10,check=6,generations=1")
    parser.add_argument("--sample-seconds", type=float, default=5.0)
    parser.add_argument("--warmup-seconds", type=float, default=60.0)
    parser.add_argument("--max-slope", type=float, default=1.0, help="MB/min, workers' total")
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--accounts", type=int, default=4, help="accounts (one key each)")
    parser.add_argument(
        "--arrivals",
        choices=("poisson", "uniform"),
        default="poisson",
        help="gaps between requests: random with the mean 1/rate, or exactly 1/rate",
    )
    parser.add_argument("--json", type=Path, help="write every figure and sample here")
    args = parser.parse_args()
    schedule = parse_mix(args.mix)
    seconds = args.minutes * 60
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data_dir:
        keys = create_keys(data_dir, args.accounts)
        env = {
            **os.environ,
            "AUPGUARD_ENV": "development",
            "AUPGUARD_DATA_DIR": data_dir,
            "AUPGUARD_LOG_LEVEL": "WARNING",
            "AUPGUARD_BACKEND": "store",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aupguard",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        try:
            wait_ready(url, args.workers)
            warmed = asyncio.run(warm(url, keys[0], set(schedule), args.workers))
            print(f"warm-up requests: {warmed:.1f}s")
            print(
                f"soak: {args.workers} worker(s), {args.rate:g} requests/s for "
                f"{args.minutes:g} min, mix {args.mix}, RSS every {args.sample_seconds:g}s"
            )
            result = asyncio.run(
                soak(
                    url,
                    keys,
                    server.pid,
                    seconds=seconds,
                    rate=args.rate,
                    schedule=schedule,
                    sample_every=args.sample_seconds,
                    max_in_flight=args.max_in_flight,
                    poisson=args.arrivals == "poisson",
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=60)
    report(args, result)


def report(args: argparse.Namespace, result: dict[str, Any]) -> None:
    latencies: dict[str, list[float]] = result["latencies"]
    every = [v for values in latencies.values() for v in values]
    print(f"\n{'endpoint':<14} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in [*sorted(latencies), "all"]:
        values = every if kind == "all" else latencies[kind]
        p50, p99 = quantiles_ms(values)
        rps = len(values) / result["elapsed_s"]
        print(f"{kind:<14} {len(values):>9} {rps:>8.1f} {p50:>8.1f} {p99:>8.1f}")
    print(f"errors: {result['errors']} (skipped sends: {result['skipped']})")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in result["statuses"].items()))
    for status, body in result["first_errors"].items():
        print(f"  first {status}: {body}")
    samples: list[dict[str, Any]] = result["samples"]
    points = [(s["t"], s["total_mb"]) for s in samples]
    late = [(t, mb) for t, mb in points if t >= args.warmup_seconds]
    whole = slope_per_minute(points)
    steady = slope_per_minute(late)
    if points:
        print(
            f"workers' RSS: first {points[0][1]:.1f} MB, last {points[-1][1]:.1f} MB, "
            f"max {max(mb for _, mb in points):.1f} MB over {len(points)} samples"
        )
    print(f"RSS slope, whole run: {whole:+.3f} MB/min")
    print(
        f"RSS slope after {args.warmup_seconds:g}s warm-up ({len(late)} samples): "
        f"{steady:+.3f} MB/min (limit {args.max_slope:g})"
    )
    flat = len(late) >= 2 and steady <= args.max_slope
    print("memory: " + ("flat" if flat else "NOT flat (or too few samples after warm-up)"))
    if args.json:
        figures = {k: v for k, v in result.items() if k not in ("latencies",)} | {
            "args": {k: str(v) for k, v in vars(args).items()},
            "slope_mb_per_min": whole,
            "steady_slope_mb_per_min": steady,
            "p50_p99_ms": {k: quantiles_ms(v) for k, v in latencies.items()},
        }
        args.json.write_text(json.dumps(figures, indent=1))
    if result["errors"] or not flat:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
