"""Retention purges payloads past their period and keeps the chain verifiable."""

from __future__ import annotations

import datetime as dt

import pytest

from aupguard.records import AuditKind, AuditLog, RetentionError, RetentionPolicy, purge_expired
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
