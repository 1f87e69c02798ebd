"""The hash chain over the events table: an untouched log verifies; editing, deleting,
reordering or inserting an event is reported at that event; checkpoints are signed and
checked with the public key only; concurrent writers keep one chain."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from aupguard.records import AuditKind, AuditLog, ChainBrokenError, PublicKey, SigningKey
from aupguard.records.audit import checkpoint_message
from aupguard.store import Store, chain

sys.path.insert(0, str(Path(__file__).parent))
from records_helpers import sql, tampering


def _fill(audit: AuditLog, n: int = 6) -> None:
    for i in range(n):
        audit.append(
            AuditKind.VERDICT_ACTIONED,
            actor="system",
            subject=f"req_{i}",
            data={"category": "sexual", "score": 0.5 + i / 100, "note": "ünïcode ✓"},
        )


def _break(audit: AuditLog) -> tuple[int, str]:
    report = audit.verify()
    assert not report.ok and report.first_break is not None
    return report.first_break.seq, report.first_break.reason


def test_untouched_log_verifies(audit: AuditLog) -> None:
    _fill(audit)
    report = audit.verify()
    assert report.ok and report.events == 6 and report.last_seq == 6
    assert report.unsigned_tail == 6
    audit.checkpoint()
    report = audit.verify()
    assert report.ok and report.checkpoints == 1 and report.unsigned_tail == 0


def test_events_link_to_each_other(store: Store, audit: AuditLog) -> None:
    _fill(audit, 3)
    events = store.events.query()
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == chain.GENESIS_HASH
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash


def test_edited_payload_is_reported_at_that_event(store: Store, audit: AuditLog) -> None:
    _fill(audit)
    with tampering(store):
        sql(store, "UPDATE events SET data = :d WHERE seq = 4", d=json.dumps({"category": "x"}))
    seq, reason = _break(audit)
    assert seq == 4 and "payload" in reason


def test_edited_field_is_reported_at_that_event(store: Store, audit: AuditLog) -> None:
    _fill(audit)
    with tampering(store):
        sql(store, "UPDATE events SET actor = 'someone-else' WHERE seq = 3")
    seq, reason = _break(audit)
    assert seq == 3 and "fields were changed" in reason


def test_deleted_event_is_reported_where_it_was(store: Store, audit: AuditLog) -> None:
    _fill(audit)
    with tampering(store):
        sql(store, "DELETE FROM events WHERE seq = 3")
    seq, reason = _break(audit)
    assert seq == 3 and "missing" in reason


def test_deleted_tail_is_reported(store: Store, audit: AuditLog) -> None:
    _fill(audit)
    with tampering(store):
        sql(store, "DELETE FROM events WHERE seq = 6")
    seq, reason = _break(audit)
    assert seq == 6 and "chain head" in reason


def test_reordered_events_are_reported(store: Store, audit: AuditLog) -> None:
    _fill(audit)
    with tampering(store):
        sql(store, "UPDATE events SET seq = -1 WHERE seq = 2")
        sql(store, "UPDATE events SET seq = 2 WHERE seq = 5")
        sql(store, "UPDATE events SET seq = 5 WHERE seq = -1")
    seq, reason = _break(audit)
    assert seq == 2 and "prev_hash" in reason


def test_inserted_event_is_reported(store: Store, audit: AuditLog) -> None:
    _fill(audit)
    with tampering(store):
        sql(store, "UPDATE events SET seq = seq + 100 WHERE seq >= 4")
        sql(store, "UPDATE events SET seq = seq - 99 WHERE seq >= 104")
        row = store.events.query()[2]  # seq 3: the forger links to it correctly
        payload = chain.payload_hash({})
        header = chain.event_header(
            seq=4,
            prev_hash=row.hash or "",
            at=row.at,
            kind="verdict.actioned",
            actor="forger",
            account_id=None,
            org_id=None,
            subject=None,
            payload_hash=payload,
        )
        sql(
            store,
            "INSERT INTO events (at, kind, actor, data, seq, payload_hash, prev_hash, hash) "
            "VALUES (:at, 'verdict.actioned', 'forger', '{}', 4, :p, :prev, :h)",
            at=row.at.replace(tzinfo=None),
            p=payload,
            prev=row.hash,
            h=chain.header_hash(header),
        )
    seq, reason = _break(audit)
    # the forged event itself is consistent; the event after it no longer links
    assert seq == 5 and "seq 4" in reason


def test_event_written_around_the_log_is_reported(store: Store, audit: AuditLog) -> None:
    _fill(audit, 2)
    sql(
        store,
        "INSERT INTO events (at, kind, actor, data) VALUES (:at, 'x', 'y', '{}')",
        at=store.now().replace(tzinfo=None),
    )
    seq, reason = _break(audit)
    assert seq == 3 and "not in the chain" in reason


def test_rewritten_chain_is_caught_by_the_checkpoint(store: Store, audit: AuditLog) -> None:
    """An attacker who recomputes every hash after an edit still cannot forge the signature."""
    _fill(audit)
    audit.checkpoint()
    events = store.events.query()
    with tampering(store):
        prev = events[1].hash or ""
        for e in events[2:]:
            data = {"category": "rewritten"} if e.seq == 3 else e.data
            payload = chain.payload_hash(data)
            header = chain.event_header(
                seq=e.seq or 0,
                prev_hash=prev,
                at=e.at,
                kind=e.kind,
                actor=e.actor,
                account_id=e.account_id,
                org_id=e.org_id,
                subject=e.subject,
                payload_hash=payload,
            )
            own = chain.header_hash(header)
            sql(
                store,
                "UPDATE events SET data = :d, payload_hash = :p, prev_hash = :prev, hash = :h "
                "WHERE seq = :s",
                d=json.dumps(data),
                p=payload,
                prev=prev,
                h=own,
                s=e.seq,
            )
            prev = own
        sql(store, "UPDATE audit_chain_head SET hash = :h", h=prev)
    seq, reason = _break(audit)
    assert seq == 6 and "checkpoint" in reason and "rewritten" in reason


def test_checkpoint_verifies_with_the_public_key_only(
    audit: AuditLog, signing_key: SigningKey
) -> None:
    _fill(audit, 3)
    cp = audit.checkpoint()
    public = PublicKey.from_pem(signing_key.public_key.pem().encode())
    assert public.verify(cp.signature, checkpoint_message(cp.seq, cp.hash, cp.at, cp.key_id))
    assert not public.verify(cp.signature, checkpoint_message(cp.seq, "0" * 64, cp.at, cp.key_id))
    other = SigningKey.generate().public_key
    assert not other.verify(cp.signature, cp.message())


def test_wrong_public_key_does_not_verify(store: Store, audit: AuditLog) -> None:
    _fill(audit, 3)
    audit.checkpoint()
    stranger = AuditLog(store, public_key=SigningKey.generate().public_key)
    report = stranger.verify()
    assert not report.ok and report.first_break is not None
    assert "signed by key id" in report.first_break.reason


def test_checkpoint_refuses_a_broken_chain(store: Store, audit: AuditLog) -> None:
    _fill(audit, 3)
    with tampering(store):
        sql(store, "UPDATE events SET kind = 'x' WHERE seq = 2")
    with pytest.raises(ChainBrokenError, match="seq 2"):
        audit.checkpoint()


def test_periodic_checkpoints(store: Store, signing_key: SigningKey) -> None:
    log = AuditLog(store, signing_key=signing_key, checkpoint_every=3)
    for i in range(7):
        log.append(AuditKind.PACK_ACTIVATED, actor="ops", subject=f"pack@{i}")
    assert [cp.seq for cp in log.checkpoints()] == [3, 6]
    assert log.verify().ok


def test_reserved_and_bad_payloads_are_refused(audit: AuditLog) -> None:
    with pytest.raises(ValueError, match="reserved"):
        audit.append(AuditKind.REVIEW_DECISION, actor="r", data={"_purged": True})
    with pytest.raises(ValueError):
        audit.append(AuditKind.REVIEW_DECISION, actor="r", data={"x": float("nan")})
    with pytest.raises(ValueError, match="actor"):
        audit.append(AuditKind.REVIEW_DECISION, actor=" ")
    assert audit.verify().events == 0


def test_concurrent_writers_keep_one_chain(store: Store, audit: AuditLog) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(15):
                audit.append(AuditKind.REVIEW_DECISION, actor=f"w{n}", subject=str(i))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    report = audit.verify()
    assert report.ok and report.events == 90 and report.last_seq == 90


def test_enforcement_steps_are_chained(store: Store, audit: AuditLog) -> None:
    org = store.accounts.create_org("Acme")
    account = store.accounts.create(org.id, email="a@example.com")
    store.enforcement.add_action(account.id, step="warning", reason="r")
    kinds = [e.kind for e in store.events.query()]
    assert kinds == ["org.created", "account.created", "enforcement.warning"]
    assert audit.verify().ok


def test_migration_chains_existing_events(tmp_path: Path) -> None:
    """Events written before 0002 are chained by the migration's frozen copy of the
    canonical form, and the package's code verifies them."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store.open(url, migrate=False)
    old.upgrade("0001")
    with old.engine.begin() as conn:
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO events (at, kind, actor, data) "
                    f"VALUES ('2025-01-0{i + 1} 10:00:00.123456', 'old.kind', 'me', :d)"
                ),
                {"d": json.dumps({"i": i, "text": "ü"})},
            )
    old.upgrade()
    log = AuditLog(old)
    log.append(AuditKind.PACK_ACTIVATED, actor="ops")
    report = log.verify()
    old.close()
    assert report.ok and report.events == 4
