"""The ladder end to end against the real store: strikes, warning, suspension, expiry,
permanent ban, credit forfeiture with a ledger entry, reversal."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from enforcement_fixtures import LADDER_PACK, allowed, verdict

from aupguard.enforcement.actions import ActionKind
from aupguard.enforcement.executor import EnforcedItem, Enforcer
from aupguard.enforcement.ladder import Standing, plan_strike
from aupguard.enforcement.settings import LadderSettings
from aupguard.policy.models import Action
from aupguard.policy.registry import default_registry
from aupguard.store import NotFoundError, Store
from aupguard.store.records import LedgerKind
from aupguard.store.testing import MovableClock


def _setup(store: Store, tmp_path: Path) -> tuple[Enforcer, str]:
    org = store.accounts.create_org("Acme")
    account = store.accounts.create(org.id, email="a@example.com")
    store.credits.grant(account.id, 500)
    enforcer = Enforcer(store, LADDER_PACK, reports_dir=tmp_path / "reports")
    return enforcer, account.id


def test_three_strikes_suspension_expiry_ban_forfeiture_reversal(
    store: Store, clock: MovableClock, tmp_path: Path
) -> None:
    enforcer, account = _setup(store, tmp_path)
    first = enforcer.record_verdict(account, verdict("sexual"), EnforcedItem(reference="r1"))
    assert [a.step for a in first] == [ActionKind.WARNING]
    assert "ladder-test@1.0.0 §nsfw" in first[0].reason and "We may warn you" in first[0].reason
    second = enforcer.record_verdict(account, verdict("sexual"))
    assert [a.step for a in second] == [ActionKind.WARNING]
    assert not enforcer.standing(account).blocked

    third = enforcer.record_verdict(account, verdict("sexual"))
    assert [a.step for a in third] == [ActionKind.TEMPORARY_SUSPENSION]
    standing = enforcer.standing(account)
    assert standing.suspended_until == clock() + dt.timedelta(days=3)
    assert standing.active_points == 3 and not standing.banned

    clock.advance(dt.timedelta(days=3, seconds=1))  # the suspension expires by itself
    assert not enforcer.standing(account).blocked

    fourth = enforcer.record_verdict(account, verdict("sexual"))
    assert [a.step for a in fourth] == [ActionKind.PERMANENT_BAN, ActionKind.CREDIT_FORFEITURE]
    assert enforcer.standing(account).banned
    assert store.credits.balance(account) == 0
    forfeiture = store.credits.entries(account)[-1]
    assert forfeiture.kind is LedgerKind.FORFEITURE and forfeiture.amount == -500
    assert fourth[1].ledger_entry_id == forfeiture.id

    # a reviewer reverses the ban and the forfeiture: the account and its credits come back
    enforcer.reverse(fourth[0].id, actor="reviewer:kim", reason="appeal upheld")
    enforcer.reverse(fourth[1].id, actor="reviewer:kim", reason="appeal upheld")
    assert not enforcer.standing(account).blocked
    assert store.credits.balance(account) == 500
    with pytest.raises(Exception, match="already reversed"):
        enforcer.reverse(fourth[0].id, actor="reviewer:kim", reason="again")

    kinds = [e.kind for e in store.events.query(account_id=account)]
    assert kinds.count("enforcement.strike") == 4
    for kind in (
        "enforcement.warning",
        "enforcement.temporary_suspension",
        "enforcement.permanent_ban",
        "enforcement.credit_forfeiture",
        "enforcement.reversed",
        "credits.restore",
    ):
        assert kind in kinds, kind


def test_strikes_expire(store: Store, clock: MovableClock, tmp_path: Path) -> None:
    enforcer, account = _setup(store, tmp_path)
    enforcer.record_verdict(account, verdict("sexual"))
    enforcer.record_verdict(account, verdict("sexual"))
    clock.advance(dt.timedelta(days=91))
    assert enforcer.standing(account).active_points == 0
    assert [a.step for a in enforcer.record_verdict(account, verdict("sexual"))] == ["warning"]


def test_reversed_strike_no_longer_counts(store: Store, tmp_path: Path) -> None:
    enforcer, account = _setup(store, tmp_path)
    enforcer.record_verdict(account, verdict("sexual"))
    strike = store.enforcement.strikes(account)[0]
    enforcer.reverse_strike(strike.id, actor="reviewer", reason="false positive")
    assert enforcer.standing(account).active_points == 0


def test_reversed_suspension_lifts_it(store: Store, tmp_path: Path) -> None:
    enforcer, account = _setup(store, tmp_path)
    suspension = enforcer.record_verdict(account, verdict("sexual", weight=3))
    assert suspension[0].step == ActionKind.TEMPORARY_SUSPENSION
    enforcer.reverse(suspension[0].id, actor="reviewer", reason="context was art history")
    assert not enforcer.standing(account).blocked


def test_non_blocks_give_no_strike(store: Store, tmp_path: Path) -> None:
    enforcer, account = _setup(store, tmp_path)
    assert enforcer.record_verdict(account, allowed()) == []
    assert enforcer.record_verdict(account, verdict("sexual", Action.REVIEW)) == []
    assert enforcer.record_verdict(account, verdict("sexual", weight=0)) == []
    assert store.enforcement.strikes(account) == []


def test_heavy_clause_bans_at_once(store: Store, tmp_path: Path) -> None:
    enforcer, account = _setup(store, tmp_path)
    actions = enforcer.record_verdict(account, verdict("weapons", weight=10))
    assert ActionKind.PERMANENT_BAN in [a.step for a in actions]


def test_unknown_account(store: Store, tmp_path: Path) -> None:
    enforcer, _ = _setup(store, tmp_path)
    with pytest.raises(NotFoundError):
        enforcer.record_verdict("acct_missing", verdict("sexual"))
    with pytest.raises(NotFoundError):
        enforcer.reverse("act_missing", actor="r", reason="x")


def test_ladder_follows_the_packs_steps() -> None:
    pack = default_registry().get("gpt-image2-design").pack
    plan = plan_strike(
        pack, verdict("sexual", pack=pack), "acct_x", Standing(active_points=0), LadderSettings()
    )
    # this policy names content removal and no warning
    assert [a.kind for a in plan.actions] == [ActionKind.CONTENT_REMOVAL]
    plan = plan_strike(
        pack, verdict("sexual", pack=pack), "acct_x", Standing(active_points=2), LadderSettings()
    )
    assert [a.kind for a in plan.actions][-1] == ActionKind.TEMPORARY_SUSPENSION
    assert plan.actions[-1].duration == dt.timedelta(days=7)  # the default duration


def test_settings_validate() -> None:
    with pytest.raises(ValueError, match="warning_at"):
        LadderSettings(warning_at=5, suspension_at=3)
    with pytest.raises(ValueError):
        LadderSettings(vault_retention_days=30)  # below the one-year hold
