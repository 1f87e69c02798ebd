"""Audit log speed: appending events and verifying the chain.

    python benchmarks/audit_speed.py [--backends sqlite,postgresql] [--writers 1,4]
        [--single-events 1000] [--batched-events 40000] [--batch-size 500]
        [--verify-events 100000] [--verify-backends sqlite,postgresql]

On a throwaway store (a SQLite file in a temporary folder; PostgreSQL at
``AUPGUARD_TEST_POSTGRES_URL``, default postgresql+psycopg://postgres@127.0.0.1:5432/test, in a
throwaway schema) it prints events/s for:
  * single — ``AuditLog.append``, one event per transaction;
  * batched — ``AuditLog.append_many``, ``--batch-size`` events per transaction;
  * grouped — ``AuditWriter`` (group commit): that many threads of one process each calling
    ``append`` one event at a time;
with 1 and 4 concurrent writers (separate processes for single and batched, started
together; the rate is all their events over the time from the first start to the last
finish), then the seconds ``AuditLog.verify`` takes over ``--verify-events`` events
(``--verify-events 1000000`` for the full figure). Each run checks that the chain verifies.
The target is >= 2,000 events/s sustained on SQLite and on PostgreSQL. Not a test.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sqlalchemy import text

from aupguard.records import AuditKind, AuditLog
from aupguard.records.writer import AuditWriter
from aupguard.store import NewEvent, Store
from aupguard.store.testing import open_test_store, postgres_unavailable_reason

_PAYLOAD = {"category": "sexual", "action": "block", "surface": "content", "lang": "en"}


def _events(n: int, who: str, start: int = 0) -> list[NewEvent]:
    return [
        NewEvent(
            kind=AuditKind.VERDICT_ACTIONED,
            actor=who,
            subject=f"req_{start + i}",
            data={**_PAYLOAD, "score": (start + i) % 100 / 100},
        )
        for i in range(n)
    ]


def _worker(
    url: str,
    schema: str | None,
    mode: str,
    n: int,
    batch: int,
    name: str,
    barrier: Barrier,
    results: Any,
) -> None:
    store = Store.open(url, schema=schema, migrate=False)
    audit = AuditLog(store)
    todo = [_events(min(batch, n - i), name, i) for i in range(0, n, batch)]
    barrier.wait()
    began = time.time()
    if mode == "single":
        for group in todo:
            for event in group:
                audit.append(event.kind, actor=event.actor, subject=event.subject, data=event.data)
    else:
        for group in todo:
            audit.append_many(group)
    results.put((began, time.time()))
    store.close()


def _processes(store: Store, mode: str, writers: int, total: int, batch: int) -> float:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(writers)
    results = ctx.Queue()
    url = store.engine.url.render_as_string(hide_password=False)
    share = total // writers
    procs = [
        ctx.Process(
            target=_worker,
            args=(url, store.schema, mode, share, batch, f"w{n}", barrier, results),
        )
        for n in range(writers)
    ]
    for proc in procs:
        proc.start()
    spans = [results.get(timeout=1200) for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a writer process failed (exit {proc.exitcode})")
    wall = float(max(end for _, end in spans) - min(start for start, _ in spans))
    return share * writers / wall


def _grouped(store: Store, writers: int, total: int, batch: int) -> float:
    audit = AuditLog(store)
    share = total // writers
    errors: list[BaseException] = []
    with AuditWriter(audit, max_batch=batch) as writer:

        def caller(n: int) -> None:
            try:
                for event in _events(share, f"g{n}"):
                    writer.append(event.kind, actor=event.actor, subject=event.subject,
                                  data=event.data)  # fmt: skip
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(writers)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - began
    if errors:
        raise SystemExit(f"a grouped writer failed: {errors[0]!r}")
    return share * writers / wall


def _check(store: Store) -> int:
    report = AuditLog(store).verify()
    if not report.ok:
        raise SystemExit(f"the chain does not verify: {report.first_break}")
    return report.events


def _timed(label: str, run: Callable[[], float]) -> None:
    rate = run()
    print(f"  {label:<44} {rate:>9,.0f} events/s", flush=True)


def append_speeds(backend: str, args: argparse.Namespace, tmp: Path) -> None:
    with open_test_store(backend, tmp) as store:
        if backend == "sqlite":
            with store.engine.connect() as conn:
                mode = conn.execute(text("PRAGMA synchronous")).scalar()
                journal = conn.execute(text("PRAGMA journal_mode")).scalar()
            names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            sync = names.get(int(mode), str(mode)) if mode is not None else "?"
            print(f"{backend}: journal_mode={journal}, synchronous={sync}")
        else:
            print(f"{backend}: schema {store.schema}")
        for writers in args.writers:
            _timed(
                f"single  (1 event/transaction), {writers} proc",
                partial(_processes, store, "single", writers, args.single_events, 1),
            )
            _timed(
                f"batched ({args.batch_size}/transaction), {writers} proc",
                partial(
                    _processes, store, "batched", writers, args.batched_events, args.batch_size
                ),
            )
            _timed(
                f"grouped (AuditWriter), {writers} thread(s)",
                partial(_grouped, store, writers, args.single_events, args.batch_size),
            )
        print(f"  chain verifies: {_check(store):,} events", flush=True)


def verify_speed(backend: str, n: int, tmp: Path) -> None:
    with open_test_store(backend, tmp / f"verify-{backend}") as store:
        audit = AuditLog(store)
        began = time.perf_counter()
        for i in range(0, n, 5000):
            audit.append_many(_events(min(5000, n - i), "fill", i))
        filled = time.perf_counter() - began
        began = time.perf_counter()
        report = audit.verify()
        took = time.perf_counter() - began
        if not report.ok or report.events != n:
            raise SystemExit(f"verify failed: {report}")
        print(
            f"{backend}: verify {n:,} events: {took:,.1f} s ({n / took:,.0f} events/s); "
            f"filled with append_many in {filled:,.1f} s ({n / filled:,.0f} events/s)",
            flush=True,
        )


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", type=_csv, default=["sqlite", "postgresql"])
    parser.add_argument("--writers", type=lambda v: [int(x) for x in _csv(v)], default=[1, 4])
    parser.add_argument("--single-events", type=int, default=1000)
    parser.add_argument("--batched-events", type=int, default=40_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--verify-events", type=int, default=100_000)
    parser.add_argument("--verify-backends", type=_csv, default=None)
    args = parser.parse_args()
    for name in (*args.backends, *(args.verify_backends or [])):
        if name not in ("sqlite", "postgresql"):
            parser.error(f"unknown backend {name!r} (sqlite or postgresql)")
    if min(args.writers) < 1 or args.batch_size < 1 or args.verify_events < 0:
        parser.error("--writers, --batch-size must be positive; --verify-events not negative")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    usable = []
    for backend in dict.fromkeys([*args.backends, *(args.verify_backends or [])]):
        reason = postgres_unavailable_reason() if backend == "postgresql" else None
        if reason:
            print(f"{backend}: skipped ({reason})", file=sys.stderr)
        else:
            usable.append(backend)
    with tempfile.TemporaryDirectory(prefix="aupguard-audit-bench-") as tmp:
        for backend in args.backends:
            if backend in usable:
                (Path(tmp) / backend).mkdir()
                append_speeds(backend, args, Path(tmp) / backend)
        if args.verify_events:
            for backend in args.verify_backends or args.backends:
                if backend in usable:
                    (Path(tmp) / f"verify-{backend}").mkdir()
                    verify_speed(backend, args.verify_events, Path(tmp))


if __name__ == "__main__":
    main()
