"""Batched appends (``append_many``) and group commit (``AuditWriter``) give the same chain as
one event at a time: gap-free, verifiable, all or nothing per batch, also with concurrent
writers in several threads and several processes (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
import sys
import threading
from concurrent.futures import Future

import pytest
from pydantic import ValidationError

from aupguard.records import AuditKind, AuditLog
from aupguard.records.writer import AuditWriter
from aupguard.store import Event, NewEvent, Store, chain


def _batch(n: int, who: str = "w", start: int = 0) -> list[NewEvent]:
    return [
        NewEvent(
            kind=AuditKind.VERDICT_ACTIONED,
            actor=who,
            subject=f"req_{start + i}",
            data={"category": "sexual", "i": start + i, "note": "ünïcode ✓"},
        )
        for i in range(n)
    ]


def _assert_one_chain(store: Store, audit: AuditLog, total: int) -> None:
    report = audit.verify()
    assert report.ok, report.first_break
    assert report.events == total and report.last_seq == total
    events = store.events.query(limit=total + 10)
    assert [e.seq for e in events] == list(range(1, total + 1))
    assert events[0].prev_hash == chain.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


def test_append_many_continues_the_chain(store: Store, audit: AuditLog) -> None:
    audit.append(AuditKind.REVIEW_DECISION, actor="rev", subject="one")
    written = audit.append_many(_batch(5))
    audit.append(AuditKind.REVIEW_DECISION, actor="rev", subject="after")
    assert [e.seq for e in written] == [2, 3, 4, 5, 6]
    assert [e.subject for e in written] == [f"req_{i}" for i in range(5)]
    stored = store.events.query()
    assert stored[1:6] == written  # what was returned is what was stored
    assert stored[-1].seq == 7 and stored[-1].prev_hash == written[-1].hash
    _assert_one_chain(store, audit, 7)
    assert audit.append_many([]) == []


def test_append_many_keeps_given_times_and_checkpoints(store: Store, signing_key: object) -> None:
    from aupguard.records import SigningKey

    assert isinstance(signing_key, SigningKey)
    audit = AuditLog(store, signing_key=signing_key, checkpoint_every=10)
    when = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    first = audit.append_many([NewEvent(kind="pack.activated", actor="admin", at=when)])
    assert first[0].at.replace(tzinfo=dt.UTC) == when
    assert audit.latest_checkpoint() is None
    audit.append_many(_batch(12))  # 13 events since none: one checkpoint at the head
    checkpoint = audit.latest_checkpoint()
    assert checkpoint is not None and checkpoint.seq == 13
    report = audit.verify()
    assert report.ok and report.checkpoints == 1 and report.unsigned_tail == 0


def test_a_bad_event_writes_none_of_the_batch(store: Store, audit: AuditLog) -> None:
    audit.append_many(_batch(2))
    bad = [*_batch(2), NewEvent(kind="x.y", actor="a", data={"score": float("nan")})]
    with pytest.raises(ValueError, match="event 2 "):
        audit.append_many(bad)
    with pytest.raises(ValueError, match="reserved"):
        audit.append_many([NewEvent(kind="x.y", actor="a", data={"_purged": True})])
    with pytest.raises(TypeError, match="NewEvent"), store.session(write=True) as session:
        store.events.append_many(session, [{"kind": "x.y"}])  # type: ignore[list-item]
    # the caller's transaction decides: rolled back, nothing of the batch stays
    with pytest.raises(RuntimeError, match="rollback"), store.session(write=True) as session:
        store.events.append_many(session, _batch(3))
        raise RuntimeError("rollback")
    _assert_one_chain(store, audit, 2)


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "x.y", "actor": "  "},
        {"kind": "", "actor": "a"},
        {"kind": "x.y", "actor": "a", "at": dt.datetime(2025, 1, 1)},  # naive
        {"kind": "x.y", "actor": "a", "colour": "red"},
    ],
)
def test_new_event_refuses_bad_fields(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        NewEvent.model_validate(fields)


def test_concurrent_batched_and_single_writers_keep_one_chain(
    store: Store, audit: AuditLog
) -> None:
    errors: list[BaseException] = []
    batches: list[list[Event]] = []

    def writer(n: int) -> None:
        try:
            for round_ in range(3):
                batches.append(audit.append_many(_batch(10, f"w{n}", round_ * 10)))
                audit.append(AuditKind.REVIEW_DECISION, actor=f"w{n}", subject=str(round_))
                audit.append(AuditKind.REVIEW_DECISION, actor=f"w{n}", subject=f"{round_}b")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _assert_one_chain(store, audit, 6 * 3 * 12)
    for batch in batches:  # a batch is never split by another writer's events
        seqs = [e.seq or 0 for e in batch]
        assert seqs == list(range(seqs[0], seqs[0] + 10)) and seqs[0] > 0


_PROCESS_WRITER = """
import sys
from aupguard.records import AuditKind, AuditLog
from aupguard.store import NewEvent, Store

url, schema, name = sys.argv[1], sys.argv[2] or None, sys.argv[3]
store = Store.open(url, schema=schema, migrate=False)
audit = AuditLog(store)
print("ready", flush=True)
sys.stdin.readline()
for round_ in range(4):
    audit.append_many(
        [NewEvent(kind="verdict.actioned", actor=name, subject=f"{round_}.{i}") for i in range(25)]
    )
    audit.append(AuditKind.REVIEW_DECISION, actor=name, subject=str(round_))
store.close()
print("done", flush=True)
"""


def test_writers_in_several_processes_keep_one_chain(store: Store, audit: AuditLog) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_WRITER, url, store.schema or "", f"proc{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    try:
        for proc in procs:  # all started and connected before any writes
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0 and "done" in out, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    _assert_one_chain(store, audit, 3 * 4 * 26)
    events = store.events.query(limit=1000)
    by_actor = {f"proc{n}": [e.seq for e in events if e.actor == f"proc{n}"] for n in range(3)}
    assert all(len(seqs) == 4 * 26 for seqs in by_actor.values())


def test_writer_groups_appends_into_few_transactions(store: Store, audit: AuditLog) -> None:
    with AuditWriter(audit, max_batch=20, max_wait=0.5) as writer:
        futures = [
            writer.submit(AuditKind.REPORT_RECEIVED, actor="user", subject=f"r{i}")
            for i in range(50)
        ]
        events = [f.result(timeout=60) for f in futures]
    assert [e.seq for e in events] == list(range(1, 51))  # in the order submitted
    assert [e.subject for e in events] == [f"r{i}" for i in range(50)]
    assert 3 <= writer.batches <= 6  # 20 + 20 + 10, not 50 transactions
    _assert_one_chain(store, audit, 50)
    with pytest.raises(RuntimeError, match="closed"):
        writer.append(AuditKind.REPORT_RECEIVED, actor="user")


def test_writer_with_concurrent_callers_and_bad_input(store: Store, audit: AuditLog) -> None:
    errors: list[BaseException] = []
    with AuditWriter(audit) as writer:
        with pytest.raises(ValueError, match="actor"):
            writer.append(AuditKind.REVIEW_DECISION, actor=" ")
        with pytest.raises(ValueError, match="reserved"):
            writer.append(AuditKind.REVIEW_DECISION, actor="r", data={"_purged": True})

        def caller(n: int) -> None:
            try:
                for i in range(20):
                    event = writer.append(AuditKind.REVIEW_DECISION, actor=f"c{n}", subject=str(i))
                    assert event.seq is not None and event.actor == f"c{n}"
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    _assert_one_chain(store, audit, 120)


def test_a_failed_batch_fails_every_caller_in_it(
    store: Store, audit: AuditLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(events: object) -> list[Event]:
        raise ConnectionError("database went away")

    monkeypatch.setattr(audit, "append_many", broken)
    with AuditWriter(audit, max_wait=0.2) as writer:
        futures: list[Future[Event]] = [
            writer.submit(AuditKind.REVIEW_DECISION, actor="r", subject=str(i)) for i in range(3)
        ]
        for future in futures:
            with pytest.raises(ConnectionError, match="went away"):
                future.result(timeout=30)
    assert audit.verify().events == 0
