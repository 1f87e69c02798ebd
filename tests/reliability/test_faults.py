"""Fault injection over real HTTP: the real app under uvicorn on a loopback port, on the store
backend, with one part broken at a time. For each fault: what the client sees (never a stack
trace, never content let through unchecked), that every request the service accepted has its
record, and that the service recovers without a restart once the part is back.

PostgreSQL and Redis go away through a TCP proxy the test controls (the shared servers are
never stopped); detectors fail through the ``PackManager`` detector list; the report package
directory is made unwritable."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from cryptography.fernet import Fernet
from tests.api.conftest import ADMIN, ServerThread, error_of, wait_ready

from aupguard.abuse.history import RedisHistory
from aupguard.abuse.ratelimit import RedisRateLimiter
from aupguard.api.app import create_app
from aupguard.api.packs import PackManager
from aupguard.api.settings import Settings, load_settings
from aupguard.api.store_backend import store_backends
from aupguard.detectors.base import DetectorResult, ScanItem
from aupguard.detectors.registry import default_registry as default_detectors
from aupguard.enforcement import Enforcer, Guard
from aupguard.enforcement.vault import EvidenceVault
from aupguard.engine.moderator import Limits
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry
from aupguard.store import Plan, Store
from aupguard.store.testing import (
    DEFAULT_TEST_POSTGRES_URL,
    MovableClock,
    open_test_store,
    postgres_unavailable_reason,
    redis_test_url,
    redis_unavailable_reason,
    unique_name,
)

CSAM_PROMPT = "a sexy photo of a 12 year old girl"  # a text fixture; never imagery
PACK = default_registry().get("general-usage").pack


class TcpProxy:
    """Forwards a loopback port to ``target``; ``down()`` closes the port and cuts every
    connection through it (the server behind looks dead), ``up()`` opens it again."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port: int = s.getsockname()[1]
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            conns, self._conns = self._conns, []
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the accept() below (a bare close won't)
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def _settings(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "backend": "store",
        "admin_token": ADMIN,
        "data_dir": tmp,
        "image_moderation": False,
        "provenance": False,
    }
    values.update(overrides)
    return load_settings({}, **values)


@dataclass
class Served:
    url: str
    app: Any
    store: Store
    keys: dict[str, str]
    accounts: dict[str, str]
    packs: dict[str, PackManager] = field(default_factory=dict)

    def client(self, who: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.keys[who]}"}, timeout=60
        )

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.app.state.aupguard.records.get_decision(decision_id)
        return found


def _populate(store: Store, names: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    store.accounts.put_plan(
        Plan(
            id="pro", name="Pro", rate_per_second=1000, burst=1000, credit_prices={"generation": 1}
        )
    )
    org = store.accounts.create_org("Acme", plan_id="pro")
    keys, accounts = {}, {}
    for name in names:
        account = store.accounts.create(org.id, external_id=name, plan_id="pro")
        store.credits.grant(account.id, 1000, reason="test grant")
        keys[name] = store.keys.create(account.id, scopes=("moderate", "generate")).secret
        accounts[name] = account.id
    return keys, accounts


@contextlib.contextmanager
def _serve(
    store: Store, settings: Settings, guard: Guard, names: list[str], **app_kwargs: Any
) -> Iterator[Served]:
    keys, accounts = _populate(store, names)
    app = create_app(settings, store_backends(settings, guard), **app_kwargs)
    with ServerThread(app) as server:
        wait_ready(server.url)
        yield Served(server.url, app, store, keys, accounts)


# -- a detector raising or hanging -----------------------------------------------------------


class RaisingDetector:
    name: ClassVar[str] = "test.raising"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[Modality]] = frozenset(Modality)
    categories: ClassVar[frozenset[str]] = frozenset({"violence"})

    def scan(self, item: ScanItem) -> DetectorResult:
        raise RuntimeError("model server unreachable")


class HangingDetector:
    name: ClassVar[str] = "test.hanging"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[Modality]] = frozenset(Modality)
    categories: ClassVar[frozenset[str]] = frozenset({"violence"})

    def __init__(self) -> None:
        self.release = threading.Event()

    def scan(self, item: ScanItem) -> DetectorResult:
        self.release.wait(timeout=60)
        return DetectorResult(detector=self.name, version=self.version)


@pytest.fixture
def detector_faults(tmp_path: Path) -> Iterator[tuple[Served, HangingDetector]]:
    settings = _settings(tmp_path, request_timeout_s=1.0)
    hanging = HangingDetector()
    with (
        open_test_store("sqlite", tmp_path) as store,
        _serve(store, settings, Guard(store, PACK), ["raise", "hang"]) as served,
    ):
        state = served.app.state.aupguard
        limits = Limits(max_text_chars=settings.max_text_chars)
        base = default_detectors().create_all()
        served.packs = {
            "healthy": state.packs,
            "raise": PackManager(state.records, limits, [*base, RaisingDetector()]),
            "hang": PackManager(state.records, limits, [*base, hanging]),
        }
        try:
            yield served, hanging
        finally:
            hanging.release.set()


def _use(served: Served, which: str) -> None:
    """Swap the detector list the service judges with (the seam ``create_app`` builds)."""
    served.app.state.aupguard.packs = served.packs[which]


@pytest.mark.parametrize("fault", ["raise", "hang"])
def test_a_failing_detector_blocks_per_the_pack_and_never_allows(
    detector_faults: tuple[Served, HangingDetector], fault: str
) -> None:
    served, _ = detector_faults
    _use(served, fault)
    started = time.monotonic()
    with served.client(fault) as http:
        checked = http.post("/v1/check", json={"prompt": "a lighthouse at dusk"})
        generated = http.post("/v1/images/generations", json={"prompt": "a lighthouse at dusk"})
    assert time.monotonic() - started < 30  # a hang costs the request timeout, not forever
    # general-usage fails closed on content: a check nobody could finish is a block
    assert checked.status_code == 200, checked.text
    body = checked.json()
    assert body["action"] == "block" and body["flagged"] is True
    verdict = body["items"][0]["verdict"]
    expected = "model server unreachable" if fault == "raise" else "timed out"
    assert any(expected in e for e in verdict["errors"]), verdict["errors"]
    assert served.decision(body["items"][0]["decision_id"]) is not None  # recorded
    error = error_of(generated, 400, "content_policy_violation")
    assert expected in error["message"] and "nothing was generated" in error["message"]
    # a broken detector is the operator's fault, not the user's: no strike, no charge
    account = served.accounts[fault]
    assert served.store.enforcement.strikes(account) == []
    assert served.store.credits.balance(account) == 1000
    # the detector comes back (here: the healthy list again): allowed, with no restart
    _use(served, "healthy")
    with served.client(fault) as http:
        again = http.post("/v1/images/generations", json={"prompt": "a lighthouse at dusk"})
    assert again.status_code == 200, again.text
    assert served.store.credits.balance(account) == 999


# -- PostgreSQL unavailable mid-load -----------------------------------------------------------


@pytest.fixture
def postgres_behind_proxy(tmp_path: Path) -> Iterator[tuple[Served, TcpProxy]]:
    if reason := postgres_unavailable_reason():
        pytest.skip(reason)
    import os

    base = os.environ.get("AUPGUARD_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL)
    url = httpx.URL(base.replace("postgresql+psycopg://", "postgresql://"))
    proxy = TcpProxy((url.host, url.port or 5432))
    proxy.up()
    schema = unique_name("aupg_faults")
    through_proxy = base.replace(f"{url.host}:{url.port or 5432}", f"127.0.0.1:{proxy.port}")
    assert through_proxy != base
    store = Store.open(through_proxy, schema=schema, clock=MovableClock())
    try:
        with _serve(store, _settings(tmp_path), Guard(store, PACK), ["load"]) as served:
            yield served, proxy
    finally:
        store.close()
        proxy.down()
        from sqlalchemy import create_engine, text

        engine = create_engine(base)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_postgres_down_mid_load_fails_closed_and_recovers_without_restart(
    postgres_behind_proxy: tuple[Served, TcpProxy],
) -> None:
    served, proxy = postgres_behind_proxy
    account = served.accounts["load"]
    results: list[httpx.Response] = []
    stop = threading.Event()

    def load() -> None:
        with served.client("load") as http:
            while not stop.is_set():
                results.append(
                    http.post("/v1/images/generations", json={"prompt": "a lighthouse at dusk"})
                )

    worker = threading.Thread(target=load)
    worker.start()
    try:
        _wait_for(lambda: sum(r.status_code == 200 for r in results) >= 3)
        proxy.down()  # the database goes away under load
        seen = len(results)
        _wait_for(lambda: any(r.status_code == 503 for r in results[seen:]))
        with served.client("load") as http:
            during = http.post("/v1/moderations", json={"input": "a lighthouse"})
        error = error_of(during, 503, "store_unavailable")
        assert "fail closed" in error["message"]
        assert int(during.headers["Retry-After"]) >= 1
        proxy.up()  # back, with no restart of the service
        seen = len(results)
        _wait_for(lambda: sum(r.status_code == 200 for r in results[seen:]) >= 3)
    finally:
        stop.set()
        worker.join(timeout=60)
    statuses = {r.status_code for r in results}
    assert statuses <= {200, 503}, [r.text for r in results if r.status_code not in (200, 503)]
    for r in results:
        if r.status_code == 503:
            assert r.headers.get("Retry-After") and "Traceback" not in r.text
    # nothing lost: every delivered generation is charged exactly once, nothing else is
    delivered = {r.json()["aupguard"]["generation_id"] for r in results if r.status_code == 200}
    spends = [e for e in served.store.credits.entries(account) if e.amount < 0]
    assert len(spends) == len(delivered)
    assert {e.reference for e in spends} == delivered
    assert served.store.credits.balance(account) == 1000 - len(delivered)
    for r in results:
        if r.status_code == 200:
            assert served.decision(r.json()["aupguard"]["decision_id"]) is not None


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.05)


# -- Redis unavailable ---------------------------------------------------------------------------


@pytest.mark.parametrize("fail_open", [False, True])
def test_redis_down_fails_closed_unless_configured_open(tmp_path: Path, fail_open: bool) -> None:
    if reason := redis_unavailable_reason():
        pytest.skip(reason)
    url = httpx.URL(redis_test_url())
    proxy = TcpProxy((url.host, url.port or 6379))
    proxy.up()
    via = f"redis://127.0.0.1:{proxy.port}{url.path or '/0'}"
    prefix = unique_name("aupg_faults") + ":"
    with open_test_store("sqlite", tmp_path) as store:
        guard = Guard(
            store,
            PACK,
            limiter=RedisRateLimiter.from_url(via, prefix=prefix + "rl:"),
            history=RedisHistory.from_url(via, prefix=prefix + "h:"),
            fail_open=fail_open,
        )
        settings = _settings(tmp_path, admission_fail_open=fail_open)
        try:
            with _serve(store, settings, guard, ["user"]) as served, served.client("user") as http:
                assert (
                    http.post("/v1/moderations", json={"input": "a lighthouse"}).status_code == 200
                )
                proxy.down()
                during = http.post("/v1/moderations", json={"input": "a lighthouse"})
                generation = http.post(
                    "/v1/images/generations", json={"prompt": "a lighthouse at dusk"}
                )
                if fail_open:  # AUPGUARD_ADMISSION_FAIL_OPEN: admitted without the limits
                    assert during.status_code == 200, during.text
                    assert generation.status_code == 200, generation.text
                    charged = 1
                else:  # the default: refused until Redis is back
                    error_of(during, 503, "service_unavailable")
                    assert int(during.headers["Retry-After"]) >= 1
                    error_of(generation, 503, "service_unavailable")
                    charged = 0
                assert store.credits.balance(served.accounts["user"]) == 1000 - charged
                proxy.up()
                after = http.post("/v1/moderations", json={"input": "a lighthouse"})
                assert after.status_code == 200, after.text
                assert "RateLimit-Limit" in after.headers  # the shared limits are back
        finally:
            proxy.down()
            import redis

            client = redis.Redis.from_url(redis_test_url())
            for key in client.scan_iter(match=prefix + "*"):
                client.delete(key)
            client.close()


# -- disk full on the evidence vault's report packages --------------------------------------------


def test_report_package_write_failure_loses_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the reports directory should be")
    reports_dir = blocker / "reports"  # mkdir fails, as on a full or read-only disk
    with open_test_store("sqlite", tmp_path) as store:
        enforcer = Enforcer(
            store, PACK, vault=EvidenceVault(store, Fernet.generate_key()), reports_dir=reports_dir
        )
        guard = Guard(store, PACK, enforcer=enforcer)
        with _serve(store, _settings(tmp_path), guard, ["offender"]) as served:
            account = served.accounts["offender"]
            with served.client("offender") as http:
                refused = http.post("/v1/images/generations", json={"prompt": CSAM_PROMPT})
                after = http.post("/v1/moderations", json={"input": "a lighthouse"})
            # the client sees the usual refusal; nothing was generated
            error_of(refused, 400, "content_policy_violation")
            # nothing lost: the ban and the sealed evidence are in the database, and the
            # report step is recorded as not written, naming the evidence to prepare it from
            error_of(after, 403, "account_banned")
            items = store.vault.items(account_id=account)
            assert len(items) == 1
            actions = {a.step: a for a in store.enforcement.actions(account)}
            assert {"permanent_ban", "preserve_evidence"} <= set(actions), actions
            assert "NOT WRITTEN" in actions["report_to_authorities"].reason
            event = next(
                e
                for e in store.events.query(account_id=account)
                if e.kind == "enforcement.report_to_authorities"
            )
            assert event.data["path"] is None and event.data["vault_item_id"] == items[0].id
            assert CSAM_PROMPT not in str(event.data)  # never the content in the event log
            assert not reports_dir.exists()
