"""Reviewer UI under a large backlog.

    python benchmarks/review_queue.py [--items 100000] [--backend postgresql|sqlite] [--runs 20]

Fills a throwaway store (PostgreSQL at ``AUPGUARD_TEST_POSTGRES_URL``, default
postgresql+psycopg://postgres@127.0.0.1:5432/test, one throwaway schema; or a SQLite file)
with open review items spread over the queues, then prints:
  * the queue list page (``GET /review/``: counts, past-SLA, claimed, oldest per queue) and one
    queue's page (``GET /review/queues/general``), server time p50/p95 through the real app;
    target <= 300 ms with 100,000 open items on PostgreSQL;
  * claiming the next item (``ReviewDesk.claim_next``) p50/p95, and the plan of its query
    (an index range scan on ``ix_review_items_next``: O(log n), not a sort of the queue).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text

from aupguard.review import ItemKind, ReviewDesk, Role
from aupguard.review.models import ReviewItemRow
from aupguard.store.testing import open_test_store, postgres_unavailable_reason
from aupguard.web import WebSettings, create_review_app

CATEGORIES = ["spam", "fraud", "harassment", "violence", "privacy", "hate", "sexual/minors"]
PASSWORD = "benchmark-password-0123"


def fill(desk: ReviewDesk, n: int) -> None:
    rng = random.Random(7)
    now = desk.store.now()
    rows = []
    for i in range(n):
        category = rng.choice(CATEGORIES)
        severity = rng.randint(0, 100)
        queue = desk.routing.route(
            kind=ItemKind.VERDICT,
            category=category,
            surface="content",
            pack="general-usage",
            lang="en",
            severity=severity,
        )
        created = now - dt.timedelta(minutes=rng.randint(0, 60 * 24 * 7))
        rows.append(
            {
                "id": f"rev_bench{i:011d}",
                "kind": "verdict",
                "status": "open",
                "queue": queue.name,
                "rank": desk.routing.rank(category, severity),
                "severity": severity,
                "category": category,
                "surface": "content",
                "pack": "general-usage",
                "lang": "en",
                "account_id": f"acct_{i % 5000}",
                "reference": f"dec_{i}",
                "group_key": None,
                "content_text": f"benchmark prompt {i}",
                "content_image": None,
                "image_type": None,
                "verdict": {},
                "details": {},
                "report_count": 0,
                "created_at": created,
                "sla_due_at": created + dt.timedelta(minutes=queue.sla_minutes),
                "claimed_by": None,
                "claim_expires_at": None,
                "decided_at": None,
                "decided_by": None,
                "outcome": None,
                "appeal_of": None,
            }
        )
    with desk.store.session(write=True) as s:
        for start in range(0, n, 5000):
            s.execute(insert(ReviewItemRow), rows[start : start + 5000])
    if desk.store.engine.dialect.name == "postgresql":
        with desk.store.engine.begin() as conn:
            conn.execute(text("ANALYZE review_items"))


def timed(fn: object, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    if args.backend == "postgresql" and (reason := postgres_unavailable_reason()):
        raise SystemExit(f"skipped: {reason}")
    with tempfile.TemporaryDirectory() as tmp, open_test_store(args.backend, Path(tmp)) as store:
        desk = ReviewDesk(store)
        started = time.perf_counter()
        fill(desk, args.items)
        print(
            f"{args.items:,} open items on {args.backend} in {time.perf_counter() - started:.1f} s"
        )
        desk.add_reviewer("bench", PASSWORD, list(Role), actor="bench")
        me = desk.reviewer("bench")
        app = create_review_app(desk, WebSettings(secret="b" * 40, secure_cookies=False))
        with TestClient(app) as client:
            page = client.get("/login")
            token = page.text.split('name="csrf" value="')[1].split('"')[0]
            client.post("/login", data={"csrf": token, "username": "bench", "password": PASSWORD})
            for path in ("/", "/queues/general"):
                assert client.get(path).status_code == 200
                p50, p95 = timed(lambda path=path: client.get(path), args.runs)
                print(f"GET /review{path:<16} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")

        # release after each claim, so every call claims afresh (a live claim is returned as is)
        def claim_fresh() -> None:
            item = desk.claim_next(me, "general")
            if item is not None:
                desk.release(item.id, me)

        p50, p95 = timed(claim_fresh, args.runs)
        print(f"claim_next + release       p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
        if args.backend == "postgresql":
            query = (
                select(ReviewItemRow.id)
                .where(ReviewItemRow.queue == "general", ReviewItemRow.status == "open")
                .order_by(ReviewItemRow.rank, ReviewItemRow.created_at)
                .limit(50)
            )
            compiled = query.compile(store.engine, compile_kwargs={"literal_binds": True})
            with store.engine.connect() as conn:
                plan = conn.execute(text(f"EXPLAIN {compiled}")).scalars().all()
            print("claim query plan:", " / ".join(line.strip() for line in plan[:3]))


if __name__ == "__main__":
    main()
