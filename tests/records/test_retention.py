"""Retention purges payloads past their period and keeps the chain verifiable."""

from __future__ import annotations

import datetime as dt

import pytest

from aupguard.records import (
    AuditKind,
    AuditLog,
    ChainBrokenError,
    RetentionError,
    RetentionPolicy,
    purge_expired,
)
from aupguard.store import Store
from aupguard.store.testing import MovableClock


def test_purge_keeps_the_chain_verifiable(
    store: Store, audit: AuditLog, clock: MovableClock
) -> None:
    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "sexual"})
    audit.append(AuditKind.REVIEW_DECISION, actor="rev", data={"outcome": "upheld"})
    audit.checkpoint()
    clock.advance(dt.timedelta(days=40))
    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "hate"})
    result = purge_expired(store, RetentionPolicy.parse("verdict.=30"))
    assert result.purged_events == 1 and result.by_kind == {"verdict.actioned": 1}
    events = store.events.query()
    assert events[0].data["_purged"] is True and events[2].data == {"category": "hate"}
    assert events[-1].kind == "records.purged" and events[-1].data["seqs"] == [1]
    report = audit.verify()
    assert report.ok and report.purged == 1
    # a second run finds nothing new
    assert purge_expired(store, RetentionPolicy.parse("verdict.=30")).purged_events == 0


def test_triggers_allow_only_a_purge(store: Store, audit: AuditLog) -> None:
    from sqlalchemy import text

    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "sexual"})
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE events SET actor = 'x', data = '{\"_purged\": true}'"))
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM events"))


@pytest.mark.parametrize("setting", ["verdict.", "verdict.=0", "enforcement.=30", "=3", "vault=9"])
def test_bad_or_protected_retention_settings(setting: str) -> None:
    with pytest.raises(RetentionError):
        RetentionPolicy.parse(setting)


def _purge_by_hand(store: Store, seq: int) -> None:
    """What someone with database access can do: the triggers let a purge-shaped UPDATE
    through, but only the retention job records it."""
    import json

    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE events SET data = :d WHERE seq = :s"),
            {
                "d": json.dumps({"_purged": True, "purged_at": "2025-03-01T00:00:00.000000Z"}),
                "s": seq,
            },
        )


def _event_id(store: Store, seq: int) -> int:
    return next(e.id for e in store.events.query() if e.seq == seq)


def test_a_purge_no_purge_event_lists_is_reported(
    store: Store, audit: AuditLog, clock: MovableClock
) -> None:
    for category in ("sexual", "hate", "spam"):
        audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": category})
    clock.advance(dt.timedelta(days=40))
    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "fresh"})
    _purge_by_hand(store, 4)  # not yet expired, and not recorded
    assert purge_expired(store, RetentionPolicy.parse("verdict.=30")).purged_events == 3
    report = audit.verify()
    assert not report.ok and report.first_break is not None
    assert report.first_break.seq == 4 and report.first_break.event_id == _event_id(store, 4)
    assert "no records.purged event lists it" in report.first_break.reason
    with pytest.raises(ChainBrokenError, match="seq 4"):
        audit.checkpoint()


def test_purging_the_purge_record_unlists_what_it_purged(
    store: Store, audit: AuditLog, clock: MovableClock
) -> None:
    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "sexual"})
    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "hate"})
    clock.advance(dt.timedelta(days=40))
    purge_expired(store, RetentionPolicy.parse("verdict.=30"))
    assert audit.verify().ok
    _purge_by_hand(store, 3)  # the records.purged event itself
    report = audit.verify()
    assert not report.ok and report.first_break is not None
    assert report.first_break.seq == 1 and "and 2 more" in report.first_break.reason


def test_a_checkpoint_before_the_purge_record_still_verifies(
    store: Store, audit: AuditLog, clock: MovableClock
) -> None:
    audit.append(AuditKind.VERDICT_ACTIONED, actor="system", data={"category": "sexual"})
    audit.append(AuditKind.REVIEW_DECISION, actor="rev", data={"outcome": "upheld"})
    clock.advance(dt.timedelta(days=40))
    purge_expired(store, RetentionPolicy.parse("verdict.=30"))  # records.purged is seq 3
    assert audit.verify(upto=2).ok
    assert audit.checkpoint(upto=2).seq == 2
    _purge_by_hand(store, 2)
    report = audit.verify(upto=2)
    assert not report.ok and report.first_break is not None and report.first_break.seq == 2
