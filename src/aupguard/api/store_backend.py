"""The production backend: the HTTP service's seams over the store, abuse and enforcement
packages through ``aupguard.enforcement.Guard``.

Accounts, API keys (hashed), plans, the credit ledger, strikes, the enforcement ladder, the
CSAM path and the evidence vault live in the database (``AUPGUARD_DATABASE_URL``; a SQLite file
in the data directory by default, PostgreSQL for many workers); rate limits, quotas and the
request history behaviour detectors read live in Redis when ``AUPGUARD_REDIS_URL`` is set, so
every worker shares one truth. Fail closed: when the store or Redis is down, admission answers
503 unless the operator chose ``AUPGUARD_ADMISSION_FAIL_OPEN``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from aupguard.abuse.fallback import FallbackCounter, FallbackHistory, FallbackRateLimiter
from aupguard.abuse.history import RedisHistory, RequestHistory
from aupguard.abuse.ratelimit import Limit, RateLimiter, RedisRateLimiter
from aupguard.api.embedded import DisclosureOnlyObligations
from aupguard.api.seams import (
    AdmissionDecision,
    AuthError,
    Backends,
    BackendUnavailableError,
    ChargeRefusedError,
    EnforcedContent,
    EnforcementOutcome,
    ExpiredKeyError,
    Principal,
    RequestContext,
    RevokedKeyError,
    UnknownAccountError,
    UnknownKeyError,
)
from aupguard.api.settings import Environment, Settings
from aupguard.enforcement import (
    ActionKind,
    EnforcedItem,
    EnforcementAction,
    Guard,
    RequestInfo,
)
from aupguard.enforcement import Principal as StorePrincipal
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Action
from aupguard.policy.registry import default_registry
from aupguard.records import AuditLog
from aupguard.records.audit import checkpoint_every_from_env
from aupguard.records.errors import SigningKeyError
from aupguard.records.signing import load_signing_key
from aupguard.store import (
    AccountClosedError,
    InsufficientCreditsError,
    InvalidKeyFormatError,
    NotFoundError,
    Store,
    StoreUnavailableError,
)
from aupguard.store import ExpiredKeyError as StoreExpiredKeyError
from aupguard.store import RevokedKeyError as StoreRevokedKeyError
from aupguard.store import UnknownKeyError as StoreUnknownKeyError

# API operation -> the key scope it needs (keys are created with "moderate" and "generate")
OPERATION_SCOPES: Mapping[str, str] = {
    "moderation": "moderate",
    "check": "moderate",
    "generation": "generate",
}
# operations a suspended or banned account may still do (an appeal is how a ban is undone)
STANDING_EXEMPT = frozenset({"appeal"})
POLICY_SCOPE_PREFIX = "policy:"  # a key scope "policy:krea-2" makes that pack the key's default
MANUAL_SUSPENSION = dt.timedelta(days=3650)  # an operator's suspension lasts until lifted


class StoreUnavailable(AuthError):
    code = "store_unavailable"


def _native(principal: Principal) -> StorePrincipal:
    if not isinstance(principal.native, StorePrincipal):
        raise RuntimeError("a principal of the store backend lost its store record")
    return principal.native


class StoreAuthenticator:
    def __init__(self, guard: Guard):
        self._guard = guard

    def authenticate(self, api_key: str) -> Principal:
        try:
            native = self._guard.authenticate(api_key)
        except (InvalidKeyFormatError, StoreUnknownKeyError) as exc:
            raise UnknownKeyError(str(exc)) from None
        except StoreRevokedKeyError as exc:
            raise RevokedKeyError(str(exc)) from None
        except StoreExpiredKeyError as exc:
            raise ExpiredKeyError(str(exc)) from None
        except AccountClosedError as exc:
            raise RevokedKeyError(str(exc)) from None
        except StoreUnavailableError:
            raise StoreUnavailable(
                "the account store is unavailable; nothing was decided (fail closed)"
            ) from None
        scopes = frozenset(native.key.scopes)
        policy = next(
            (s[len(POLICY_SCOPE_PREFIX) :] for s in sorted(scopes) if s.startswith("policy:")),
            None,
        )
        return Principal(
            account_id=native.account.id,
            org_id=native.org.id,
            plan=native.plan.id if native.plan else "unconfigured",
            policy=policy,
            key_id=native.key.id,
            scopes=frozenset(s for s in scopes if not s.startswith(POLICY_SCOPE_PREFIX)),
            native=native,
        )


class StoreAdmission:
    def __init__(self, guard: Guard, settings: Settings):
        self._guard = guard
        self._settings = settings

    def admit(
        self,
        principal: Principal,
        operation: str,
        units: int = 1,
        context: RequestContext | None = None,
    ) -> AdmissionDecision:
        if operation in STANDING_EXEMPT:
            # a suspended or banned account may still appeal: only a rate limit applies
            return self._limited(f"{operation}:{principal.account_id}", operation)
        scope = OPERATION_SCOPES.get(operation)
        if scope is not None and not principal.may(scope):
            return AdmissionDecision(
                allowed=False,
                status=403,
                code="insufficient_scope",
                reason=f"this API key lacks the `{scope}` scope needed for {operation}",
            )
        context = context or RequestContext()
        decision = self._guard.admit(
            RequestInfo(
                principal=_native(principal),
                operation=operation,
                ip=context.ip,
                device=context.device,
                user_agent=context.user_agent,
                request_id=context.request_id,
            ),
            cost=max(1, units),
        )
        return _decision(
            decision.allowed,
            decision.http_status,
            decision.code.value,
            decision.message,
            decision.headers,
            decision.retry_after_seconds,
        )

    def admit_anonymous(self, client: str, operation: str) -> AdmissionDecision:
        return self._limited(f"anon:{operation}:{client}", operation)

    def _limited(self, key: str, operation: str) -> AdmissionDecision:
        """Only the people-facing rate limit (reports, appeals), shared through Redis."""
        rate = self._settings.report_rate_per_minute / 60.0
        burst = max(1, math.ceil(self._settings.report_rate_per_minute / 2))
        try:
            limit = self._guard.limiter.decide([Limit(key, rate, burst)], [], 1.0)
        except Exception:  # Redis down: fail closed like every other admission
            if self._settings.admission_fail_open:
                return AdmissionDecision(allowed=True)
            return AdmissionDecision(
                allowed=False,
                status=503,
                code="service_unavailable",
                reason="rate limits are unavailable; try again shortly",
                retry_after_s=5.0,
            )
        return _decision(
            limit.allowed,
            429,
            "rate_limited",
            limit.reason or f"the {operation} rate limit was reached",
            limit.headers(),
            limit.retry_after_seconds,
        )

    def charge(self, principal: Principal, operation: str, units: int, reference: str) -> None:
        """Book the plan's price; ``reference`` is the idempotency key, so a retried charge
        for the same generation is booked once. Raises ``InsufficientCreditsError`` when a
        concurrent spend drained the balance (the caller then delivers nothing)."""
        try:
            self._guard.charge(
                principal.account_id,
                operation,
                float(units),
                reference=reference,
                idempotency_key=f"{operation}:{reference}",
            )
        except InsufficientCreditsError as exc:
            raise ChargeRefusedError(str(exc)) from exc
        except StoreUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc


def _decision(
    allowed: bool,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str],
    retry_after: float | None,
) -> AdmissionDecision:
    """The guard's answer in the service's shape; its RateLimit-* and Retry-After headers
    are sent as the guard computed them."""
    extra = tuple(sorted(headers.items()))
    if allowed:
        return AdmissionDecision(allowed=True, extra_headers=extra)
    return AdmissionDecision(
        allowed=False,
        status=status,
        code=code,
        reason=message,
        retry_after_s=retry_after if "Retry-After" not in headers else None,
        extra_headers=extra,
    )


class StoreEnforcement:
    def __init__(self, guard: Guard):
        self._guard = guard

    def record(
        self,
        principal: Principal,
        verdict: Verdict,
        decision_id: str,
        item: EnforcedContent | None = None,
    ) -> EnforcementOutcome:
        native = _native(principal)
        enforced = EnforcedItem(
            reference=decision_id,
            prompt=item.prompt if item else None,
            content=item.content if item else None,
            content_type=item.content_type if item else "text/plain; charset=utf-8",
            ip=item.ip if item else None,
            api_key_prefix=native.key.prefix,
        )
        try:
            done = []
            if verdict.action is Action.BLOCK:
                done = self._guard.record_verdict(principal.account_id, verdict, enforced)
            standing = self._guard.enforcer.standing(principal.account_id)
        except StoreUnavailableError as exc:
            raise BackendUnavailableError(str(exc)) from exc
        reason = standing.reason or next((a.reason for a in done), None)
        return EnforcementOutcome(
            actions=tuple(a.step for a in done),
            action_ids=tuple(a.id for a in done if a.account_id == principal.account_id),
            strikes=standing.active_points,
            suspended=standing.blocked,
            reason=reason,
        )


class StoreAccounts:
    def __init__(self, guard: Guard):
        self._guard = guard

    def _known(self, account_id: str) -> None:
        try:
            self._guard.store.accounts.get(account_id)
        except NotFoundError:
            raise UnknownAccountError(f"no account {account_id!r}") from None

    def suspend(self, account_id: str, reason: str) -> None:
        self._known(account_id)
        self._guard.enforcer.execute(
            [
                EnforcementAction(
                    kind=ActionKind.TEMPORARY_SUSPENSION,
                    account_id=account_id,
                    reason=reason,
                    duration=MANUAL_SUSPENSION,
                    data={"manual": True},
                )
            ],
            actor="admin",
        )

    def unsuspend(self, account_id: str) -> bool:
        self._known(account_id)
        now = self._guard.store.now()
        lifted = False
        for action in self._guard.store.enforcement.actions(account_id):
            if action.step == ActionKind.TEMPORARY_SUSPENSION.value and action.in_force(now):
                self._guard.enforcer.reverse(action.id, actor="admin", reason="lifted by admin")
                lifted = True
        return lifted

    def status(self, account_id: str) -> Mapping[str, object]:
        self._known(account_id)
        store = self._guard.store
        account = store.accounts.get(account_id)
        standing = self._guard.enforcer.standing(account_id)
        return {
            "account_id": account_id,
            "org_id": account.org_id,
            "plan": account.plan_id,
            "suspended": standing.blocked,
            "banned": standing.banned,
            "suspended_until": (
                standing.suspended_until.isoformat() if standing.suspended_until else None
            ),
            "suspension_reason": standing.reason,
            "strikes": standing.active_points,
            "credits": store.credits.balance(account_id),
            "actions": [
                {
                    "id": a.id,
                    "step": a.step,
                    "reason": a.reason,
                    "created_at": a.created_at.isoformat(),
                    "reversed": a.reversed_at is not None,
                }
                for a in store.enforcement.actions(account_id)
            ],
        }


def open_guard(settings: Settings) -> Guard:
    """The guard over the configured store (schema upgraded on open) and Redis, for the
    service's default pack (its behaviour thresholds and enforcement ladder)."""
    pack = default_registry().get(settings.default_policy).pack
    store = Store.open(settings.store_url)
    if settings.redis_url:
        limiter: RateLimiter = RedisRateLimiter.from_url(settings.redis_url)
        history: RequestHistory = RedisHistory.from_url(settings.redis_url)
        if settings.redis_fallback == "local":
            counter = FallbackCounter()
            limiter = FallbackRateLimiter(limiter, counter)
            history = FallbackHistory(history, counter)
        return Guard(
            store,
            pack,
            limiter=limiter,
            history=history,
            fail_open=settings.admission_fail_open,
        )
    return Guard(store, pack, fail_open=settings.admission_fail_open)


def open_audit_log(settings: Settings, store: Store) -> AuditLog:
    """The audit log over the store, signing checkpoints with the configured Ed25519 key
    (generated in development; required in production, where a missing key stops start-up).
    In ``test`` without a key the log is chained but unsigned."""
    try:
        signing_key = load_signing_key(create=settings.env is Environment.DEVELOPMENT)
    except SigningKeyError:
        if settings.env is Environment.PRODUCTION:
            raise
        signing_key = None
    return AuditLog(store, signing_key=signing_key, checkpoint_every=checkpoint_every_from_env())


def store_backends(settings: Settings, guard: Guard | None = None) -> Backends:
    """The seams over ``guard`` (by default the one ``open_guard`` builds from settings)."""
    guard = guard or open_guard(settings)
    audit = open_audit_log(settings, guard.store)
    return Backends(
        authenticator=StoreAuthenticator(guard),
        admission=StoreAdmission(guard, settings),
        enforcement=StoreEnforcement(guard),
        accounts=StoreAccounts(guard),
        obligations=DisclosureOnlyObligations(),
        ping=guard.store.ping,
        audit=audit,
        store=guard.store,
        collectors=tuple(c for c in (_fallback_counter_of(guard),) if c is not None),
        close=guard.store.close,
    )


def _fallback_counter_of(guard: Guard) -> FallbackCounter | None:
    """The counter of a guard whose limits fall back to local ones (AUPGUARD_REDIS_FALLBACK)."""
    limiter = guard.limiter
    return limiter.counter if isinstance(limiter, FallbackRateLimiter) else None
