"""The seams between the HTTP service and the parts that own accounts, admission, enforcement
and output obligations. The service only talks to these protocols; ``build_backends`` is the one
place that chooses implementations (today the embedded development backend in ``embedded.py``;
the store/abuse/enforcement/provenance packages plug in here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality
from aupguard.policy.registry import ResolvedPack

if TYPE_CHECKING:
    from aupguard.api.settings import Settings


# -- authentication --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the account behind an API key."""

    account_id: str
    org_id: str | None
    plan: str
    policy: str | None  # the key's default pack, or None for the service default
    key_id: str  # a non-secret handle of the key (for logs and limits)
    scopes: frozenset[str] | None = None  # None: every operation
    # the backend's own record of the caller (the store backend keeps its Principal here)
    native: object = field(default=None, compare=False, repr=False)

    def may(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes or "*" in self.scopes


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What the service knows about the request besides the principal: behaviour detectors
    (key sharing, multi-account, scraping) read it. Client-sent times are never used."""

    ip: str | None = None
    user_agent: str | None = None
    device: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class EnforcedContent:
    """The item a verdict was about, for enforcement: the CSAM path seals it in the evidence
    vault; nothing else keeps it."""

    reference: str | None = None
    prompt: str | None = None
    content: bytes | None = None
    content_type: str = "text/plain; charset=utf-8"
    ip: str | None = None


class BackendUnavailableError(Exception):
    """The backend's store or Redis cannot be reached; the request fails closed (503)."""


class UnknownAccountError(LookupError):
    """No such account (admin API: 404)."""


class ChargeRefusedError(Exception):
    """Credits could not be booked (a concurrent spend drained the balance): deliver nothing."""


class AuthError(Exception):
    """The key cannot be used. ``code`` is one of unknown_key, revoked_key, expired_key."""

    code = "invalid_api_key"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class UnknownKeyError(AuthError):
    code = "invalid_api_key"


class RevokedKeyError(AuthError):
    code = "revoked_api_key"


class ExpiredKeyError(AuthError):
    code = "expired_api_key"


class Authenticator(Protocol):
    def authenticate(self, api_key: str) -> Principal:
        """The principal for a key; raises an AuthError subclass otherwise."""
        ...


# -- admission (rate limits, quota, credits, suspension) ---------------------------------------


@dataclass(frozen=True, slots=True)
class RateLimitState:
    """Values for the RateLimit-* response headers."""

    limit: int
    remaining: int
    reset_s: float  # seconds until the allowance is full again


@dataclass(frozen=True, slots=True)
class AdmissionDecision:
    allowed: bool
    status: int = 200  # when refused: 429 rate/quota, 403 suspended, 402 no credits
    code: str = "ok"
    reason: str = ""
    retry_after_s: float | None = None
    rate_limit: RateLimitState | None = None
    # headers computed by the backend itself (e.g. RateLimit-Policy), sent as they are
    extra_headers: tuple[tuple[str, str], ...] = ()

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = dict(self.extra_headers)
        if self.rate_limit is not None:
            out["RateLimit-Limit"] = str(self.rate_limit.limit)
            out["RateLimit-Remaining"] = str(max(0, self.rate_limit.remaining))
            out["RateLimit-Reset"] = str(max(0, round(self.rate_limit.reset_s + 0.4999)))
        if self.retry_after_s is not None:
            out["Retry-After"] = str(max(1, round(self.retry_after_s + 0.4999)))
        return out


class Admission(Protocol):
    def admit(
        self,
        principal: Principal,
        operation: str,
        units: int = 1,
        context: RequestContext | None = None,
    ) -> AdmissionDecision:
        """Whether the principal may do ``operation`` now (``moderation``, ``check``,
        ``generation``, ``report``, ``appeal``). Does not charge credits."""
        ...

    def admit_anonymous(self, client: str, operation: str) -> AdmissionDecision:
        """Admission for callers without a key (reports), limited by client address."""
        ...

    def charge(self, principal: Principal, operation: str, units: int, reference: str) -> None:
        """Charge credits for what was delivered; called only after a successful delivery."""
        ...


# -- enforcement ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnforcementOutcome:
    """What happened to the account because of one verdict (the ladder's answer)."""

    actions: tuple[str, ...] = ()
    strikes: int = 0
    suspended: bool = False
    reason: str | None = None
    # ids of the recorded enforcement steps (store backend): an upheld appeal reverses them
    action_ids: tuple[str, ...] = ()


class EnforcementSink(Protocol):
    def record(
        self,
        principal: Principal,
        verdict: Verdict,
        decision_id: str,
        item: EnforcedContent | None = None,
    ) -> EnforcementOutcome: ...


class AccountAdmin(Protocol):
    """Operator actions on accounts (admin API)."""

    def suspend(self, account_id: str, reason: str) -> None: ...

    def unsuspend(self, account_id: str) -> bool: ...

    def status(self, account_id: str) -> Mapping[str, object]: ...


# -- obligations on outputs -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ObligatedOutput:
    """An output image after its obligations: possibly re-encoded bytes (watermark, C2PA
    manifest) and metadata returned with it (disclosure, provenance)."""

    data: bytes
    metadata: dict[str, str] = field(default_factory=dict)
    # the pack requires human review before release: the output is held, not delivered
    review_required: bool = False
    review_reasons: tuple[str, ...] = ()


class OutputObligations(Protocol):
    def apply(
        self, image: bytes, generation_id: str, pack: ResolvedPack, verdict: Verdict
    ) -> ObligatedOutput: ...


# -- the audit log --------------------------------------------------------------------------


class AuditSink(Protocol):
    """The tamper-evident audit log (``aupguard.records.AuditLog`` on the store backend): one
    hash-chained event per verdict that led to an action, pack activation, report, appeal."""

    def append(
        self,
        kind: str,
        *,
        actor: str,
        account_id: str | None = None,
        org_id: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> object: ...


# -- image moderation -----------------------------------------------------------------------

ImageChecker = Callable[[bytes, Modality], Verdict]


def image_moderation_installed() -> bool:
    """Whether the ``images`` extra is importable (Pillow decodes, onnxruntime scores)."""
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("PIL", "onnxruntime"))


def image_checker_of(moderator: object, *, enabled: bool = True) -> ImageChecker | None:
    """The moderator's image check when image moderation is installed and enabled, else None
    (callers refuse images then: an image is never let through unchecked)."""
    if not enabled or not image_moderation_installed():
        return None
    check = getattr(moderator, "check_image", None)
    return check if callable(check) else None


# -- wiring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backends:
    authenticator: Authenticator
    admission: Admission
    enforcement: EnforcementSink
    accounts: AccountAdmin
    obligations: OutputObligations
    # raises when the backend's store is unreachable (readiness); None: nothing to check
    ping: Callable[[], None] | None = None
    audit: AuditSink | None = None  # None: no audit log (the embedded backend)
    # the database of the store backend (``aupguard.store.Store``); None for the embedded one
    store: Any = None
    # Prometheus collectors of the backend (e.g. Redis fallbacks), registered on /metrics
    collectors: tuple[object, ...] = ()
    close: Callable[[], None] | None = None


def build_backends(settings: Settings) -> Backends:
    """The backend the settings choose (``AUPGUARD_BACKEND``): ``store`` (accounts, keys,
    plans, credits and the enforcement ladder in the database, limits in Redis when
    configured) or ``embedded`` (keys declared in settings, state in this process); output
    obligations from the provenance package when it is installed."""
    if settings.backend == "store":
        from aupguard.api.store_backend import store_backends

        backends = store_backends(settings)
    else:
        from aupguard.api.embedded import embedded_backends

        backends = embedded_backends(settings)
    if settings.provenance_enabled:
        from aupguard.api.obligations import provenance_obligations

        backends = replace(backends, obligations=provenance_obligations(settings))
    return backends
