"""Contract tests of the store, run against SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import text

from aupguard.store import (
    AccountClosedError,
    ExpiredKeyError,
    InsufficientCreditsError,
    InvalidKeyFormatError,
    LedgerError,
    NotFoundError,
    Plan,
    RevokedKeyError,
    Store,
    StoreError,
    UnknownKeyError,
)
from aupguard.store.records import AgeMethod, IdentifierKind, LedgerKind
from aupguard.store.testing import MovableClock, head_revision

PRO = Plan(
    id="pro",
    name="Pro",
    rate_per_second=10,
    burst=20,
    daily_quota=1000,
    credit_prices={"*": 1, "image": 4},
)


def _account(store: Store, email: str | None = "ann@example.com") -> str:
    store.accounts.put_plan(PRO)
    org = store.accounts.create_org("Acme", plan_id="pro")
    return store.accounts.create(org.id, external_id=None, email=email).id


def test_migrated_to_head(store: Store) -> None:
    assert store.current_revision() == head_revision()
    store.upgrade()  # idempotent
    assert store.current_revision() == head_revision()


def test_org_account_plan(store: Store) -> None:
    account_id = _account(store)
    account = store.accounts.get(account_id)
    assert account.email_normalized == "ann@example.com"
    assert store.accounts.plan_for(account_id) == store.accounts.plan("pro")
    assert store.accounts.plan("pro").price_of("image") == 4
    assert store.accounts.plan("pro").price_of("check") == 1
    basic = Plan(id="basic", name="Basic", rate_per_second=1, burst=1)
    store.accounts.put_plan(basic)
    store.accounts.set_plan(account_id, "basic")
    assert store.accounts.plan_for(account_id) is not None
    assert store.accounts.plan_for(account_id).id == "basic"  # type: ignore[union-attr]


def test_unknown_ids_are_named(store: Store) -> None:
    with pytest.raises(NotFoundError, match="unknown account 'acct_nope'"):
        store.accounts.get("acct_nope")
    with pytest.raises(NotFoundError, match="organisation"):
        store.accounts.create("org_missing")
    with pytest.raises(NotFoundError, match="plan"):
        store.accounts.create_org("X", plan_id="gold")
    with pytest.raises(NotFoundError):
        store.credits.balance("acct_nope")
    with pytest.raises(NotFoundError, match="API key"):
        store.keys.revoke("key_nope")


def test_external_ids_are_unique_per_org(store: Store) -> None:
    org = store.accounts.create_org("Acme")
    store.accounts.create(org.id, external_id="u1")
    with pytest.raises(StoreError, match="already has an account"):
        store.accounts.create(org.id, external_id="u1")
    assert store.accounts.find(org.id, "u1").external_id == "u1"
    other = store.accounts.create_org("Other")
    store.accounts.create(other.id, external_id="u1")  # another org may reuse it


def test_key_lifecycle(store: Store, clock: MovableClock) -> None:
    account_id = _account(store)
    issued = store.keys.create(account_id, name="ci", scopes=["moderate"])
    assert issued.secret.startswith(issued.key.prefix + "_")
    with store.session() as s:  # only the hash is stored
        stored = s.execute(text("SELECT secret_hash, prefix FROM api_keys")).one()
    assert issued.secret not in stored and stored[1] == issued.key.prefix
    owner = store.keys.authenticate(issued.secret)
    assert owner.account.id == account_id and owner.key.scopes == ["moderate"]
    assert store.keys.authenticate(f"Bearer {issued.secret}").key.id == issued.key.id

    rotated = store.keys.rotate(issued.key.id)
    with pytest.raises(RevokedKeyError, match="revoked"):
        store.keys.authenticate(issued.secret)
    assert store.keys.authenticate(rotated.secret).key.id == rotated.key.id
    assert store.keys.get(issued.key.id).rotated_to == rotated.key.id

    store.keys.revoke(rotated.key.id, reason="leaked")
    with pytest.raises(RevokedKeyError):
        store.keys.authenticate(rotated.secret)
    with pytest.raises(RevokedKeyError, match="already"):
        store.keys.revoke(rotated.key.id)
    assert [k.state(clock()) for k in store.keys.for_account(account_id)] == ["revoked", "revoked"]
    kinds = [e.kind for e in store.events.query(account_id=account_id)]
    assert kinds.count("key.created") == 2 and "key.rotated" in kinds and "key.revoked" in kinds


def test_rotation_grace_and_expiry(store: Store, clock: MovableClock) -> None:
    account_id = _account(store)
    old = store.keys.create(account_id)
    new = store.keys.rotate(old.key.id, grace=dt.timedelta(minutes=5))
    store.keys.authenticate(old.secret)  # still valid during the grace period
    clock.advance(dt.timedelta(minutes=6))
    with pytest.raises(ExpiredKeyError, match="expired"):
        store.keys.authenticate(old.secret)
    store.keys.authenticate(new.secret)
    short = store.keys.create(account_id, expires_at=clock() + dt.timedelta(hours=1))
    clock.advance(dt.timedelta(hours=2))
    with pytest.raises(ExpiredKeyError):
        store.keys.authenticate(short.secret)
    with pytest.raises(StoreError, match="not in the future"):
        store.keys.create(account_id, expires_at=clock() - dt.timedelta(seconds=1))


@pytest.mark.parametrize(
    "secret",
    ["", "Bearer", "sk-abc", "aupg_12345678_short", "aupg_zzzzzzzz_" + "a" * 43, "x" * 10000],
)
def test_malformed_keys(store: Store, secret: str) -> None:
    with pytest.raises(InvalidKeyFormatError, match="not an aupguard API key"):
        store.keys.authenticate(secret)


def test_unknown_key(store: Store) -> None:
    with pytest.raises(UnknownKeyError, match="unknown API key aupg_0123abcd"):
        store.keys.authenticate("aupg_0123abcd_" + "A" * 43)


def test_closed_account_cannot_authenticate(store: Store) -> None:
    account_id = _account(store)
    issued = store.keys.create(account_id)
    store.accounts.close(account_id, reason="user request")
    with pytest.raises(AccountClosedError):
        store.keys.authenticate(issued.secret)
    with pytest.raises(AccountClosedError):
        store.keys.create(account_id)


def test_ledger_balance_is_derived_from_entries(store: Store) -> None:
    account_id = _account(store)
    store.credits.grant(account_id, 100, reason="welcome")
    spend = store.credits.spend(account_id, 30, operation="image", reference="req-1")
    assert store.credits.balance(account_id) == 70
    store.credits.refund(spend.id, 10, reason="partial failure")
    store.credits.refund(spend.id)  # the remaining 20
    with pytest.raises(LedgerError, match="cannot be refunded"):
        store.credits.refund(spend.id, 1)
    assert store.credits.balance(account_id) == 100
    forfeited = store.credits.forfeit(account_id, reason="banned")
    assert forfeited is not None and forfeited.amount == -100
    assert store.credits.balance(account_id) == 0
    assert store.credits.forfeit(account_id, reason="again") is None
    store.credits.restore(forfeited.id, reason="appeal upheld")
    assert store.credits.balance(account_id) == 100
    entries = store.credits.entries(account_id)
    assert [e.kind for e in entries] == [
        LedgerKind.GRANT,
        LedgerKind.SPEND,
        LedgerKind.REFUND,
        LedgerKind.REFUND,
        LedgerKind.FORFEITURE,
        LedgerKind.RESTORE,
    ]
    assert sum(e.amount for e in entries) == store.credits.balance(account_id)
    # double entry: the operator's side mirrors the accounts' side
    assert sum(store.credits.operator_totals().values()) == -store.credits.balance(account_id)


@pytest.mark.parametrize("amount", [0, -5, 10**13])
def test_ledger_refuses_bad_amounts(store: Store, amount: int) -> None:
    account_id = _account(store)
    with pytest.raises(LedgerError):
        store.credits.grant(account_id, amount)
    with pytest.raises(LedgerError):
        store.credits.spend(account_id, amount, operation="check")
    assert store.credits.entries(account_id) == []


def test_spend_never_overdraws(store: Store) -> None:
    account_id = _account(store)
    store.credits.grant(account_id, 3)
    with pytest.raises(InsufficientCreditsError, match="has 3 credits; 5 are needed"):
        store.credits.spend(account_id, 5, operation="image")
    assert store.credits.balance(account_id) == 3


def test_idempotent_spend(store: Store) -> None:
    account_id = _account(store)
    store.credits.grant(account_id, 10)
    first = store.credits.spend(account_id, 4, operation="image", idempotency_key="req-9")
    again = store.credits.spend(account_id, 4, operation="image", idempotency_key="req-9")
    assert first.id == again.id and store.credits.balance(account_id) == 6


def test_concurrent_spends_stop_at_zero(store: Store) -> None:
    account_id = _account(store)
    store.credits.grant(account_id, 25)
    ok: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            try:
                store.credits.spend(account_id, 1, operation="check")
                with lock:
                    ok.append(1)
            except InsufficientCreditsError:
                with lock:
                    refused.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 25 and len(refused) == 15
    assert store.credits.balance(account_id) == 0


def test_age_acceptance_use_cases(store: Store) -> None:
    account_id = _account(store)
    assert store.accounts.age_attestation(account_id) is None
    store.accounts.attest_age(account_id, method=AgeMethod.SELF_DECLARED, age_years=19)
    latest = store.accounts.attest_age(account_id, method=AgeMethod.VERIFIED, age_years=20)
    assert store.accounts.age_attestation(account_id) == latest
    with pytest.raises(StoreError, match="plausible"):
        store.accounts.attest_age(account_id, method=AgeMethod.SELF_DECLARED, age_years=-1)
    store.accounts.accept_policy(account_id, "stability-ai", "2025.7.31")
    assert [(a.pack_id, a.pack_version) for a in store.accounts.acceptances(account_id)] == [
        ("stability-ai", "2025.7.31")
    ]
    org_id = store.accounts.get(account_id).org_id
    store.accounts.declare_use_case(org_id, "Product photos for shops", categories=["x", "x"])
    assert store.accounts.use_cases(org_id)[0].categories == ["x"]


def test_links_between_accounts(store: Store) -> None:
    a = _account(store, "j.doe+1@gmail.com")
    org_id = store.accounts.get(a).org_id
    b = store.accounts.create(org_id, email="JDoe@googlemail.com").id
    c = store.accounts.create(org_id, email="other@example.org").id
    store.accounts.observe(a, ip="203.0.113.7", device="dev-1")
    store.accounts.observe(c, ip="203.0.113.99")
    links = {link.account_id: link.shared for link in store.accounts.links(a)}
    assert links[b] == {IdentifierKind.EMAIL: ["jdoe@gmail.com"]}
    assert links[c] == {IdentifierKind.NETWORK: ["203.0.113.0/24"]}
    with pytest.raises(ValueError, match="not an e-mail"):
        store.accounts.observe(a, email="nobody")
    with pytest.raises(ValueError):
        store.accounts.observe(a, ip="999.1.1.1")


def test_events_are_append_only(store: Store) -> None:
    _account(store)
    events = store.events.query()
    assert [e.kind for e in events][:3] == ["plan.put", "org.created", "account.created"]
    assert [e.id for e in events] == sorted(e.id for e in events)
    with pytest.raises(Exception, match="append-only"), store.session() as s:
        s.execute(text("UPDATE events SET kind = 'x'"))
    with pytest.raises(Exception, match="append-only"), store.session() as s:
        s.execute(text("DELETE FROM events"))
    assert len(store.events.query()) == len(events)


def test_naive_datetimes_are_refused(store: Store) -> None:
    account_id = _account(store)
    with pytest.raises(Exception, match="naive"):
        store.keys.create(account_id, expires_at=dt.datetime(2999, 1, 1))
