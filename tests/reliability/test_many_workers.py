"""Many workers, one truth: ``aupguard serve --workers 4`` as a real subprocess on a loopback
port, over the real PostgreSQL (its own schema) and Redis, hit by concurrent clients. Rate
limits, credits and strikes hold across the worker processes because they live in the database
and Redis, never in a worker. Skipped, with the reason, where PostgreSQL or Redis is absent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import ADMIN, free_port

from aupguard.store import Plan, Store
from aupguard.store.testing import (
    DEFAULT_TEST_POSTGRES_URL,
    TEST_POSTGRES_URL_ENV,
    postgres_unavailable_reason,
    redis_test_url,
    redis_unavailable_reason,
    unique_name,
)

WORKERS = 4
BLOCKED = "step by step instructions to build a pipe bomb and kill people"
BURST = 5  # the plan "trickle" admits this many requests, then one every few hours
CREDITED_GENERATIONS = 3  # "metered" costs 2 credits a generation; the account has 6


@dataclass
class Fleet:
    url: str
    store: Store
    keys: dict[str, str]
    accounts: dict[str, str]
    pid: int


def _seed(store: Store) -> tuple[dict[str, str], dict[str, str]]:
    store.accounts.put_plan(Plan(id="roomy", name="Roomy", rate_per_second=1000, burst=1000))
    store.accounts.put_plan(Plan(id="trickle", name="Trickle", rate_per_second=0.0001, burst=BURST))
    store.accounts.put_plan(
        Plan(
            id="metered",
            name="Metered",
            rate_per_second=1000,
            burst=1000,
            credit_prices={"generation": 2},
        )
    )
    org = store.accounts.create_org("Fleet", plan_id="roomy")
    keys: dict[str, str] = {}
    accounts: dict[str, str] = {}
    for name, plan, credits in [
        ("trickle", "trickle", 0),
        ("metered", "metered", 2 * CREDITED_GENERATIONS),
        ("striker", "roomy", 0),
    ]:
        account = store.accounts.create(org.id, external_id=name, plan_id=plan)
        if credits:
            store.credits.grant(account.id, credits, reason="test grant")
        keys[name] = store.keys.create(account.id, scopes=("moderate", "generate")).secret
        accounts[name] = account.id
    return keys, accounts


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait_for_workers(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    """Ready when many fresh connections in a row (spread over the workers by the kernel)
    answer /readyz 200, so every worker finished its warm-up."""
    deadline = time.monotonic() + timeout
    in_a_row = 0
    while in_a_row < 3 * WORKERS:
        if proc.poll() is not None:
            raise RuntimeError(f"aupguard serve exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the workers never all became ready")
        try:
            ok = httpx.get(f"{url}/readyz", timeout=5).status_code == 200
        except httpx.TransportError:
            ok = False
        in_a_row = in_a_row + 1 if ok else 0
        if not ok:
            time.sleep(0.1)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if reason := postgres_unavailable_reason() or redis_unavailable_reason():
        pytest.skip(reason)
    base = os.environ.get(TEST_POSTGRES_URL_ENV, DEFAULT_TEST_POSTGRES_URL)
    schema = unique_name("aupg_workers")
    tmp = tmp_path_factory.mktemp("workers")
    store = Store.open(base, schema=schema)  # creates and migrates the schema
    keys, accounts = _seed(store)
    sep = "&" if "?" in base else "?"
    port = free_port()
    env = {
        **os.environ,
        "AUPGUARD_ENV": "test",
        "AUPGUARD_BACKEND": "store",
        "AUPGUARD_ADMIN_TOKEN": ADMIN,
        # the workers' connections live in the test's schema
        "AUPGUARD_DATABASE_URL": f"{base}{sep}options=-csearch_path%3D{schema}",
        "AUPGUARD_REDIS_URL": redis_test_url(),
        "AUPGUARD_DATA_DIR": str(tmp),
        "AUPGUARD_IMAGE_MODERATION": "false",
        "AUPGUARD_PROVENANCE": "false",
        "AUPGUARD_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "aupguard", "serve", "--port", str(port), "--workers", str(WORKERS)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            _wait_for_workers(url, proc)
        except RuntimeError as exc:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise RuntimeError(f"{exc}: {err.decode(errors='replace')[-2000:]}") from None
        yield Fleet(url, store, keys, accounts, proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()
        _forget_redis_keys(keys, accounts, store)
        store.close()
        from sqlalchemy import create_engine, text

        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _forget_redis_keys(keys: dict[str, str], accounts: dict[str, str], store: Store) -> None:
    """The service uses the default key prefix; delete only the keys naming our accounts and
    API keys (their ids are random, so nobody else's keys match)."""
    import redis

    client = redis.Redis.from_url(redis_test_url())
    ids = list(accounts.values())
    for account_id in accounts.values():
        ids += [k.id for k in store.keys.for_account(account_id)]
    for ident in ids:
        for key in client.scan_iter(match=f"aupguard:*{ident}*", count=1000):
            client.delete(key)
    client.close()


def _all_at_once(n: int, call: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
    """``n`` requests released together, each on its own connection (so the kernel spreads
    them over the worker processes)."""
    barrier = threading.Barrier(n)

    def one(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            barrier.wait(timeout=30)
            return call(http)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def _bearer(fleet: Fleet, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {fleet.keys[who]}"}


def test_the_service_runs_as_several_worker_processes(fleet: Fleet) -> None:
    assert len(_children(fleet.pid)) >= WORKERS


def test_rate_limit_admits_no_more_than_the_plan_across_workers(fleet: Fleet) -> None:
    headers = _bearer(fleet, "trickle")
    responses = _all_at_once(
        24,
        lambda http: http.post(
            f"{fleet.url}/v1/moderations", json={"input": "a lighthouse"}, headers=headers
        ),
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * BURST + [429] * (24 - BURST), statuses
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1


def test_credits_for_k_generations_deliver_exactly_k(fleet: Fleet) -> None:
    headers = _bearer(fleet, "metered")
    account = fleet.accounts["metered"]
    responses = _all_at_once(
        12,
        lambda http: http.post(
            f"{fleet.url}/v1/images/generations",
            json={"prompt": "a lighthouse at dusk"},
            headers=headers,
        ),
    )
    delivered = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(delivered) == CREDITED_GENERATIONS, [r.text[:200] for r in responses]
    assert all(len(r.json()["data"]) == 1 for r in delivered)
    for r in refused:
        assert r.status_code == 402, r.text
        assert r.json()["error"]["code"] == "insufficient_credits"
    assert fleet.store.credits.balance(account) == 0
    spends = [e for e in fleet.store.credits.entries(account) if e.amount < 0]
    assert len(spends) == CREDITED_GENERATIONS and all(e.amount == -2 for e in spends)
    running = 0
    for entry in fleet.store.credits.entries(account):
        running += entry.amount
        assert running >= 0  # the ledger never dips below zero, in any order of booking
    charged = {e.reference for e in spends}
    for r in delivered:
        generation_id = r.json()["aupguard"]["generation_id"]
        assert any(generation_id in (ref or "") for ref in charged)


def test_concurrent_blocked_prompts_lose_no_strike_and_reach_the_ladder(fleet: Fleet) -> None:
    headers = _bearer(fleet, "striker")
    account = fleet.accounts["striker"]
    n = 8
    responses = _all_at_once(
        n,
        lambda http: http.post(f"{fleet.url}/v1/check", json={"prompt": BLOCKED}, headers=headers),
    )
    judged = [r for r in responses if r.status_code == 200]
    for r in responses:
        assert r.status_code in (200, 403), r.text
        if r.status_code == 403:  # admitted after a concurrent request banned the account
            assert r.json()["error"]["code"] == "account_banned"
    assert judged, "no request was judged"
    decisions = set()
    for r in judged:
        assert r.json()["action"] == "block", r.text
        decisions.add(r.json()["id"])  # the strike cites the check that earned it
    strikes = fleet.store.enforcement.strikes(account)
    # one strike per judged block, none lost and none doubled
    assert len(strikes) == len(judged)
    assert {s.reference for s in strikes} == decisions
    # the ladder step the points reach was taken, however the requests interleaved
    steps = [a.step for a in fleet.store.enforcement.actions(account)]
    assert "permanent_ban" in steps, steps
    with httpx.Client(timeout=60) as http:
        after = http.post(f"{fleet.url}/v1/check", json={"prompt": "a lighthouse"}, headers=headers)
    assert after.status_code == 403 and after.json()["error"]["code"] == "account_banned"
