"""The per-request facade for the HTTP service (and anything else that serves requests).

    guard = Guard.from_env(pack)                       # or Guard(store, pack, ...)
    principal = guard.authenticate(api_key)            # -> Principal or ApiKeyError
    decision = guard.admit(RequestInfo(principal=principal, ip=..., operation="image"),
                           cost=4.0)                   # 4-megapixel image
    if not decision.allowed:
        return error(decision.http_status, decision.message, headers=decision.headers)
    ... moderate / generate ...
    guard.record_verdict(principal.account.id, verdict, EnforcedItem(...))
    entry = guard.charge(principal.account.id, "image", units=4.0, reference=request_id)
    guard.refund(entry.id, reason="upstream failed")   # if generation failed

``authenticate`` raises ``InvalidKeyFormatError``, ``UnknownKeyError``, ``RevokedKeyError``,
``ExpiredKeyError`` (all ``ApiKeyError``, with a ``code``), ``AccountClosedError``, or
``StoreUnavailableError`` when the database is down (answer 503: fail closed);
``admit`` never raises for a client's doing: it returns an ``AdmissionDecision`` with a
stable ``code``, an HTTP status, ``RateLimit-*``/``Retry-After`` headers and a message (for a
suspended account, the reason and until when). When the store or Redis fails, ``admit``
fails closed (503) unless the guard was built with ``fail_open=True``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from aupguard.abuse.detectors import BehaviourSettings, create_detectors
from aupguard.abuse.history import (
    MemoryHistory,
    RedisHistory,
    RequestEvent,
    RequestHistory,
    prompt_shape,
)
from aupguard.abuse.monitor import BehaviourMonitor
from aupguard.abuse.ratelimit import (
    Limit,
    LimitDecision,
    MemoryRateLimiter,
    Quota,
    RateLimiter,
    RedisRateLimiter,
)
from aupguard.enforcement.executor import EnforcedItem, Enforcer
from aupguard.enforcement.settings import LadderSettings
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Action, PolicyPack
from aupguard.store import Store, StoreError, StoreUnavailableError
from aupguard.store.identity import network_of
from aupguard.store.keys import KeyOwner
from aupguard.store.records import Account, ApiKey, LedgerEntry, Organisation, Plan, RecordedAction

REDIS_URL_ENV = "AUPGUARD_REDIS_URL"
# a behaviour category strikes an account at most once per this period (a pattern persists
# over many requests; it is one violation, not hundreds)
BEHAVIOUR_STRIKE_COOLDOWN = dt.timedelta(hours=1)
# without a plan: generous limits so a misconfigured account is still bounded
UNLIMITED_PLAN = Plan(id="unconfigured", name="No plan", rate_per_second=50, burst=100)


class Principal(BaseModel):
    """Who is calling: the key, its account and organisation, and the plan in force."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ApiKey
    account: Account
    org: Organisation
    plan: Plan | None


class RequestInfo(BaseModel):
    """What the service knows about one request. Client-sent times are never used for limits
    or history; the guard's clock is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    principal: Principal
    operation: str = "check"
    ip: str | None = None
    device: str | None = Field(default=None, max_length=200)
    user_agent: str | None = Field(default=None, max_length=400)
    geo: tuple[float, float] | None = None
    prompt: str | None = None  # only its shape (word hashes) is kept
    request_id: str | None = None


class AdmissionCode(StrEnum):
    OK = "ok"
    BANNED = "account_banned"
    SUSPENDED = "account_suspended"
    BEHAVIOUR = "behaviour_blocked"
    INSUFFICIENT_CREDITS = "insufficient_credits"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    TOO_COSTLY = "request_too_costly"
    BAD_REQUEST = "bad_request"
    UNAVAILABLE = "service_unavailable"


_STATUS = {
    AdmissionCode.OK: 200,
    AdmissionCode.BANNED: 403,
    AdmissionCode.SUSPENDED: 403,
    AdmissionCode.BEHAVIOUR: 403,
    AdmissionCode.INSUFFICIENT_CREDITS: 402,
    AdmissionCode.RATE_LIMITED: 429,
    AdmissionCode.QUOTA_EXCEEDED: 429,
    AdmissionCode.TOO_COSTLY: 413,
    AdmissionCode.BAD_REQUEST: 400,
    AdmissionCode.UNAVAILABLE: 503,
}


class AdmissionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed: bool
    code: AdmissionCode
    message: str
    headers: dict[str, str] = Field(default_factory=dict)
    credits_needed: int = 0
    retry_after_seconds: float | None = None
    behaviour: Verdict | None = None  # review here means: allowed, but queue for review
    actions: tuple[RecordedAction, ...] = ()

    @property
    def http_status(self) -> int:
        return _STATUS[self.code]


def _deny(code: AdmissionCode, message: str, **extra: object) -> AdmissionDecision:
    return AdmissionDecision(allowed=False, code=code, message=message, **extra)


class Guard:
    def __init__(
        self,
        store: Store,
        pack: PolicyPack,
        *,
        limiter: RateLimiter | None = None,
        history: RequestHistory | None = None,
        enforcer: Enforcer | None = None,
        behaviour: BehaviourSettings | None = None,
        ladder: LadderSettings | None = None,
        fail_open: bool = False,
    ):
        self.store = store
        self.pack = pack
        self.limiter: RateLimiter = limiter or MemoryRateLimiter()
        self.monitor = BehaviourMonitor(
            store,
            pack,
            history or MemoryHistory(),
            detectors=create_detectors(
                behaviour or BehaviourSettings.build(pack.defaults.behaviour)
            ),
        )
        self.enforcer = enforcer or Enforcer(store, pack, settings=ladder)
        self.fail_open = fail_open

    @classmethod
    def from_env(cls, pack: PolicyPack, **kwargs: object) -> Guard:
        """The store at ``AUPGUARD_DATABASE_URL``; limits and history in Redis when
        ``AUPGUARD_REDIS_URL`` is set, else in this process."""
        store = Store.open()
        redis_url = os.environ.get(REDIS_URL_ENV, "").strip()
        if redis_url:
            kwargs.setdefault("limiter", RedisRateLimiter.from_url(redis_url))
            kwargs.setdefault("history", RedisHistory.from_url(redis_url))
        return cls(store, pack, **kwargs)  # type: ignore[arg-type]

    # -- authentication ------------------------------------------------------------------

    def authenticate(self, api_key: str) -> Principal:
        owner: KeyOwner = self.store.keys.authenticate(api_key)
        return Principal(
            key=owner.key,
            account=owner.account,
            org=owner.org,
            plan=self.store.accounts.plan_for(owner.account.id),
        )

    # -- admission -----------------------------------------------------------------------

    def admit(self, request: RequestInfo, cost: float = 1.0) -> AdmissionDecision:
        """Suspension/ban, credits, behaviour, then rate limits and quotas (booked only when
        everything else passed)."""
        if not (isinstance(cost, int | float) and cost > 0 and math.isfinite(cost)):
            return _deny(AdmissionCode.BAD_REQUEST, f"request cost must be positive, got {cost!r}")
        try:
            return self._admit(request, float(cost))
        except (StoreUnavailableError, ConnectionError, OSError) as exc:
            return self._unavailable(exc)
        except Exception as exc:
            if type(exc).__module__.startswith("redis"):
                return self._unavailable(exc)
            raise

    def _unavailable(self, exc: Exception) -> AdmissionDecision:
        if self.fail_open:
            return AdmissionDecision(
                allowed=True,
                code=AdmissionCode.OK,
                message=f"admitted without checks (fail-open): {exc}",
            )
        return _deny(
            AdmissionCode.UNAVAILABLE,
            "enforcement checks are unavailable; try again shortly",
            retry_after_seconds=5.0,
            headers={"Retry-After": "5"},
        )

    def _admit(self, request: RequestInfo, cost: float) -> AdmissionDecision:
        p = request.principal
        account_id = p.account.id
        now = self.store.now()

        standing = self.enforcer.standing(account_id)
        if standing.banned:
            return _deny(
                AdmissionCode.BANNED, f"this account is permanently banned: {standing.reason}"
            )
        if standing.suspended_until is not None:
            wait = (standing.suspended_until - now).total_seconds()
            return _deny(
                AdmissionCode.SUSPENDED,
                f"this account is suspended until {standing.suspended_until:%Y-%m-%d %H:%M} UTC: "
                f"{standing.reason}",
                retry_after_seconds=wait,
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

        plan = p.plan or UNLIMITED_PLAN
        price = plan.price_of(request.operation)
        needed = math.ceil(price * cost) if price else 0
        if needed:
            balance = self.store.credits.balance(account_id)
            if balance < needed:
                return _deny(
                    AdmissionCode.INSUFFICIENT_CREDITS,
                    f"this request needs {needed} credits; the balance is {balance}",
                    credits_needed=needed,
                )

        try:
            network = network_of(request.ip) if request.ip else None
        except ValueError:
            return _deny(AdmissionCode.BAD_REQUEST, f"not an IP address: {request.ip!r}")
        event = RequestEvent(
            at=now,
            account_id=account_id,
            key_id=p.key.id,
            ip=request.ip,
            network=network,
            device=request.device,
            user_agent=request.user_agent,
            geo=request.geo,
            operation=request.operation,
            cost=cost,
            shape=prompt_shape(request.prompt) if request.prompt else (),
        )
        behaviour = self.monitor.check(event)
        actions: tuple[RecordedAction, ...] = ()
        if behaviour.action is Action.BLOCK:
            actions = tuple(self._strike_behaviour(account_id, behaviour))
            blocked = [h for h in behaviour.clauses if h.action is Action.BLOCK]
            evidence = "; ".join(e.detail or "" for e in behaviour.evidence if e.score >= 0.5)
            cited = ", ".join(f"{h.citation} {h.category}" for h in blocked) or "detector failure"
            return _deny(
                AdmissionCode.BEHAVIOUR,
                f"refused under {cited}: {evidence}",
                behaviour=behaviour,
                actions=actions,
            )

        limits = [
            Limit(f"key:{p.key.id}", plan.rate_per_second, plan.burst),
            Limit(f"acct:{account_id}", plan.rate_per_second, plan.burst),
        ]
        quotas = self._quotas(account_id, plan, now)
        decision: LimitDecision = self.limiter.decide(limits, quotas, cost)
        headers = decision.headers()
        if not decision.allowed:
            if decision.retry_after_seconds is None:
                code = AdmissionCode.TOO_COSTLY
            elif decision.denied_by and decision.denied_by.startswith("quota:"):
                code = AdmissionCode.QUOTA_EXCEEDED
            else:
                code = AdmissionCode.RATE_LIMITED
            return _deny(
                code,
                decision.reason or "rate limited",
                headers=headers,
                retry_after_seconds=decision.retry_after_seconds,
                behaviour=behaviour,
                credits_needed=needed,
            )
        return AdmissionDecision(
            allowed=True,
            code=AdmissionCode.OK,
            message="admitted",
            headers=headers,
            credits_needed=needed,
            behaviour=behaviour,
        )

    @staticmethod
    def _quotas(account_id: str, plan: Plan, now: dt.datetime) -> list[Quota]:
        quotas = []
        if plan.daily_quota:
            end = (now + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            quotas.append(
                Quota(
                    f"quota:{account_id}:d:{now:%Y-%m-%d}",
                    plan.daily_quota,
                    (end - now).total_seconds(),
                )
            )
        if plan.monthly_quota:
            first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            end = (first + dt.timedelta(days=32)).replace(day=1)
            quotas.append(
                Quota(
                    f"quota:{account_id}:m:{now:%Y-%m}",
                    plan.monthly_quota,
                    (end - now).total_seconds(),
                )
            )
        return quotas

    def _strike_behaviour(self, account_id: str, verdict: Verdict) -> list[RecordedAction]:
        """A behaviour block strikes once per category per cooldown, not once per request."""
        since = self.store.now() - BEHAVIOUR_STRIKE_COOLDOWN
        recent = {
            s.category for s in self.store.enforcement.strikes(account_id) if s.created_at >= since
        }
        if any(h.category in recent for h in verdict.clauses if h.action is Action.BLOCK):
            return []
        done = self.enforcer.record_verdict(account_id, verdict)
        self.monitor.forget(account_id)
        return done

    # -- verdicts and credits ------------------------------------------------------------

    def record_verdict(
        self, account_id: str, verdict: Verdict, item: EnforcedItem | None = None
    ) -> list[RecordedAction]:
        """Strikes and ladder steps for a content verdict (the CSAM path for ``sexual/minors``).
        Returns the steps carried out, each already recorded as an event."""
        done = self.enforcer.record_verdict(account_id, verdict, item)
        if done:
            self.monitor.forget(account_id)
        return done

    def charge(
        self,
        account_id: str,
        operation: str,
        units: float = 1.0,
        *,
        reference: str | None = None,
        idempotency_key: str | None = None,
    ) -> LedgerEntry | None:
        """Book the plan's price for ``units`` of ``operation`` (None when the plan does not
        charge for it). Raises ``InsufficientCreditsError`` and books nothing if the balance
        is short."""
        if not (units > 0 and math.isfinite(units)):
            raise StoreError(f"units must be positive, got {units!r}")
        plan = self.store.accounts.plan_for(account_id) or UNLIMITED_PLAN
        amount = math.ceil(plan.price_of(operation) * units)
        if amount == 0:
            return None
        return self.store.credits.spend(
            account_id,
            amount,
            operation=operation,
            reference=reference,
            idempotency_key=idempotency_key,
        )

    def refund(self, entry_id: int, *, reason: str, amount: int | None = None) -> LedgerEntry:
        return self.store.credits.refund(entry_id, amount, reason=reason)
