"""The per-request facade: authenticate, admit (bans, suspensions, credits, behaviour, rate
limits, quotas, failure), record_verdict, charge and refund — on the real store and Redis."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from enforcement_fixtures import LADDER_PACK, verdict

from aupguard.abuse.ratelimit import MemoryRateLimiter, RedisRateLimiter
from aupguard.enforcement import AdmissionCode, Guard, RequestInfo
from aupguard.policy.models import Action, Clause, Defaults, PolicyPack, Surface
from aupguard.store import (
    ExpiredKeyError,
    InsufficientCreditsError,
    InvalidKeyFormatError,
    Plan,
    RevokedKeyError,
    Store,
    UnknownKeyError,
)
from aupguard.store.testing import (
    MovableClock,
    redis_test_url,
    redis_unavailable_reason,
    unique_name,
)

PACK = LADDER_PACK.model_copy(
    update={
        "defaults": Defaults(minimum_age=None),
        "clauses": (
            *LADDER_PACK.clauses,
            Clause(
                id="evasion",
                title="No ban evasion",
                quote="No new accounts to evade a ban.",
                surface=Surface.BEHAVIOUR,
                categories=("abuse/ban-evasion", "abuse/key-sharing"),
                action=Action.BLOCK,
                ladder_weight=1,
            ),
        ),
    }
)
PLAN = Plan(
    id="std",
    name="Standard",
    rate_per_second=0.01,
    burst=5,
    daily_quota=8,
    credit_prices={"*": 1, "image": 2},
)


def _guard(store: Store, tmp_path: Path, pack: PolicyPack = PACK, **kwargs: object) -> Guard:
    store.accounts.put_plan(PLAN)
    guard = Guard(store, pack, **kwargs)  # type: ignore[arg-type]
    guard.enforcer.reports_dir = tmp_path / "reports"
    return guard


def _customer(store: Store, credits: int = 100, **account: str) -> tuple[str, str]:
    org = store.accounts.create_org("Acme", plan_id="std")
    acct = store.accounts.create(org.id, **account)  # type: ignore[arg-type]
    if credits:
        store.credits.grant(acct.id, credits)
    return acct.id, store.keys.create(acct.id).secret


def test_authenticate(store: Store, clock: MovableClock, tmp_path: Path) -> None:
    guard = _guard(store, tmp_path)
    account, secret = _customer(store)
    principal = guard.authenticate(secret)
    assert principal.account.id == account and principal.plan == store.accounts.plan("std")
    with pytest.raises(InvalidKeyFormatError) as bad:
        guard.authenticate("hunter2")
    assert bad.value.code == "malformed_api_key"
    with pytest.raises(UnknownKeyError):
        guard.authenticate("aupg_00000000_" + "x" * 43)
    store.keys.revoke(principal.key.id)
    with pytest.raises(RevokedKeyError):
        guard.authenticate(secret)
    expiring = store.keys.create(account, expires_at=clock() + dt.timedelta(days=1))
    clock.advance(dt.timedelta(days=2))
    with pytest.raises(ExpiredKeyError):
        guard.authenticate(expiring.secret)


def test_rate_limit_quota_and_headers(store: Store, tmp_path: Path) -> None:
    guard = _guard(store, tmp_path)
    _, secret = _customer(store)
    request = RequestInfo(principal=guard.authenticate(secret), ip="192.0.2.1")
    first = guard.admit(request)
    assert first.allowed and first.http_status == 200
    assert first.headers["RateLimit-Limit"] == "5" and first.headers["RateLimit-Remaining"] == "4"
    results = [guard.admit(request) for _ in range(5)]
    assert [r.allowed for r in results] == [True] * 4 + [False]
    assert results[-1].code is AdmissionCode.RATE_LIMITED and results[-1].http_status == 429
    assert int(results[-1].headers["Retry-After"]) > 0
    too_big = guard.admit(request, cost=6)
    assert too_big.code is AdmissionCode.TOO_COSTLY and too_big.http_status == 413
    assert guard.admit(request, cost=0).code is AdmissionCode.BAD_REQUEST
    assert guard.admit(request.model_copy(update={"ip": "not-an-ip"})).code is (
        AdmissionCode.BAD_REQUEST
    )


def test_daily_quota(store: Store, clock: MovableClock, tmp_path: Path) -> None:
    # one clock drives the limiter and the store, so time can pass in the test
    limiter = MemoryRateLimiter(clock=lambda: clock().timestamp())
    guard = _guard(store, tmp_path, limiter=limiter)
    _, secret = _customer(store)
    request = RequestInfo(principal=guard.authenticate(secret))
    assert [guard.admit(request).allowed for _ in range(6)] == [True] * 5 + [False]
    clock.advance(dt.timedelta(minutes=10))  # the burst refills; the daily quota does not
    results = [guard.admit(request) for _ in range(4)]
    assert [r.allowed for r in results] == [True, True, True, False]
    assert results[-1].code is AdmissionCode.QUOTA_EXCEEDED and results[-1].http_status == 429
    assert "quota" in results[-1].message
    retry = int(results[-1].headers["Retry-After"])
    midnight = (clock() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0)
    assert abs(retry - (midnight - clock()).total_seconds()) < 5
    clock.set(midnight + dt.timedelta(minutes=1))  # a new day, a new quota
    assert guard.admit(request).allowed


def test_credits_admission_charge_refund(store: Store, tmp_path: Path) -> None:
    guard = _guard(store, tmp_path)
    account, secret = _customer(store, credits=5)
    request = RequestInfo(principal=guard.authenticate(secret), operation="image")
    assert guard.admit(request, cost=2).credits_needed == 4
    short = guard.admit(request, cost=3)
    assert short.code is AdmissionCode.INSUFFICIENT_CREDITS and short.http_status == 402
    entry = guard.charge(account, "image", units=2, reference="req-1", idempotency_key="req-1")
    assert entry is not None and entry.amount == -4
    assert guard.charge(account, "image", units=2, idempotency_key="req-1") == entry
    with pytest.raises(InsufficientCreditsError):
        guard.charge(account, "image", units=1)
    guard.refund(entry.id, reason="generation failed")
    assert store.credits.balance(account) == 5


def test_suspended_and_banned_accounts_are_refused_with_reason(
    store: Store, clock: MovableClock, tmp_path: Path
) -> None:
    guard = _guard(store, tmp_path)
    account, secret = _customer(store)
    request = RequestInfo(principal=guard.authenticate(secret))
    guard.record_verdict(account, verdict("sexual", weight=3))  # straight to suspension
    refused = guard.admit(request)
    assert refused.code is AdmissionCode.SUSPENDED and refused.http_status == 403
    assert "suspended until" in refused.message and "§nsfw" in refused.message
    assert int(refused.headers["Retry-After"]) == 3 * 86400
    clock.advance(dt.timedelta(days=3, minutes=1))
    assert guard.admit(request).allowed
    guard.record_verdict(account, verdict("sexual", weight=3))  # after a suspension: a ban
    banned = guard.admit(request)
    assert banned.code is AdmissionCode.BANNED and "permanently banned" in banned.message


def test_ban_evasion_is_blocked_and_struck_once(store: Store, tmp_path: Path) -> None:
    guard = _guard(store, tmp_path)
    old, _ = _customer(store, email="evader@example.com")
    store.accounts.observe(old, device="fp-evader")
    guard.record_verdict(old, verdict("weapons", weight=10))  # banned
    new, secret = _customer(store, email="evader+2@example.com")
    store.accounts.observe(new, device="fp-evader")
    request = RequestInfo(principal=guard.authenticate(secret), device="fp-evader")
    decision = guard.admit(request)
    assert decision.code is AdmissionCode.BEHAVIOUR and decision.http_status == 403
    assert "ban-evasion" in decision.message and "banned account" in decision.message
    guard.admit(request)
    strikes = store.enforcement.strikes(new)
    assert [s.category for s in strikes] == ["abuse/ban-evasion"]  # once, not per request


def test_clock_moving_backwards_is_harmless(
    store: Store, clock: MovableClock, tmp_path: Path
) -> None:
    guard = _guard(store, tmp_path)
    _, secret = _customer(store)
    request = RequestInfo(principal=guard.authenticate(secret), ip="192.0.2.9", geo=(52.5, 13.4))
    assert guard.admit(request).allowed
    clock.advance(dt.timedelta(minutes=-30))  # an NTP step back
    decision = guard.admit(request.model_copy(update={"geo": (48.1, 11.6)}))
    assert decision.allowed and decision.behaviour is not None
    assert decision.behaviour.action is Action.ALLOW


def test_unreachable_redis_fails_closed(store: Store, tmp_path: Path) -> None:
    broken = RedisRateLimiter.from_url("redis://127.0.0.1:1/0")
    guard = _guard(store, tmp_path, limiter=broken)
    _, secret = _customer(store)
    request = RequestInfo(principal=guard.authenticate(secret))
    decision = guard.admit(request)
    assert not decision.allowed and decision.http_status == 503
    assert decision.headers["Retry-After"] == "5"
    open_guard = _guard(store, tmp_path, limiter=broken, fail_open=True)
    assert open_guard.admit(request).allowed


def test_shared_redis_limits_across_guards(store: Store, tmp_path: Path) -> None:
    if reason := redis_unavailable_reason():
        pytest.skip(reason)
    prefix = unique_name("aupg_test_guard") + ":"
    limiter = RedisRateLimiter.from_url(redis_test_url(), prefix=prefix)
    worker_a = _guard(store, tmp_path, limiter=limiter)
    worker_b = _guard(
        store, tmp_path, limiter=RedisRateLimiter.from_url(redis_test_url(), prefix=prefix)
    )
    _, secret = _customer(store)
    request = RequestInfo(principal=worker_a.authenticate(secret))
    allowed = [w.admit(request).allowed for w in (worker_a, worker_b) * 4]
    assert sum(allowed) == 5  # one burst shared by both workers
    for key in limiter._client.scan_iter(match=prefix + "*"):
        limiter._client.delete(key)


def test_pack_overrides_behaviour_settings(store: Store, tmp_path: Path) -> None:
    from aupguard.abuse.detectors import BehaviourSettingsError
    from aupguard.abuse.detectors.key_sharing import KeySharingDetector

    defaults = Defaults(behaviour={"abuse.key_sharing": {"networks": 12, "window_minutes": 30}})
    guard = _guard(store, tmp_path, pack=PACK.model_copy(update={"defaults": defaults}))
    key_sharing = next(d for d in guard.monitor.detectors if isinstance(d, KeySharingDetector))
    assert key_sharing.settings.networks == 12 and key_sharing.settings.window_minutes == 30
    typo = Defaults(behaviour={"abuse.key_sharing": {"netwroks": 12}})
    with pytest.raises(BehaviourSettingsError, match="netwroks"):
        _guard(store, tmp_path, pack=PACK.model_copy(update={"defaults": typo}))
    with pytest.raises(ValueError, match="pattern"):
        Defaults(behaviour={"key sharing": {}})
