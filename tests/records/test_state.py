"""An account's state rebuilt from its events equals the state the store holds."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "enforcement"))
from enforcement_fixtures import LADDER_PACK, verdict

from aupguard.enforcement.actions import ActionKind
from aupguard.enforcement.executor import EnforcedItem, Enforcer
from aupguard.records import rebuild_account_state, stored_account_state
from aupguard.store import NotFoundError, Store
from aupguard.store.testing import MovableClock


def test_state_from_events_matches_the_store(
    store: Store, clock: MovableClock, tmp_path: Path
) -> None:
    org = store.accounts.create_org("Acme")
    account = store.accounts.create(org.id, email="a@example.com").id
    other = store.accounts.create(org.id, email="b@example.com").id
    store.credits.grant(account, 100)
    enforcer = Enforcer(store, LADDER_PACK, reports_dir=tmp_path / "reports")
    checks = []
    for i in range(7):
        done = enforcer.record_verdict(account, verdict("sexual"), EnforcedItem(reference=f"r{i}"))
        checks.append(rebuild_account_state(store, account) == stored_account_state(store, account))
        if any(a.step == ActionKind.TEMPORARY_SUSPENSION for a in done):
            clock.advance(dt.timedelta(days=4))  # the suspension runs out
    enforcer.record_verdict(other, verdict("sexual"))
    assert all(checks)
    state = rebuild_account_state(store, account)
    assert state == stored_account_state(store, account)
    assert state.banned and state.active_points >= 6
    # reversing the ban and a strike is replayed too
    ban = next(a for a in store.enforcement.actions(account) if a.step == ActionKind.PERMANENT_BAN)
    enforcer.reverse(ban.id, actor="reviewer", reason="appeal upheld")
    strike = store.enforcement.strikes(account)[0]
    enforcer.reverse_strike(strike.id, actor="reviewer", reason="mistake")
    state = rebuild_account_state(store, account)
    assert not state.banned and strike.id not in state.active_strikes
    assert state == stored_account_state(store, account)
    # strikes expire by time alone
    clock.advance(dt.timedelta(days=365))
    assert rebuild_account_state(store, account) == stored_account_state(store, account)
    assert rebuild_account_state(store, account).active_points == 0
    store.accounts.close(account, reason="gone")
    assert rebuild_account_state(store, account).closed
    assert rebuild_account_state(store, other) == stored_account_state(store, other)


def test_unknown_account(store: Store) -> None:
    with pytest.raises(NotFoundError):
        rebuild_account_state(store, "acct_nope")
