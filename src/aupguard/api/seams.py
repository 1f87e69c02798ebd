"""The seams between the HTTP service and the parts that own accounts, admission, enforcement
and output obligations. The service only talks to these protocols; ``build_backends`` is the one
place that chooses implementations (today the embedded development backend in ``embedded.py``;
the store/abuse/enforcement/provenance packages plug in here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

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

    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.rate_limit is not None:
            out["RateLimit-Limit"] = str(self.rate_limit.limit)
            out["RateLimit-Remaining"] = str(max(0, self.rate_limit.remaining))
            out["RateLimit-Reset"] = str(max(0, round(self.rate_limit.reset_s + 0.4999)))
        if self.retry_after_s is not None:
            out["Retry-After"] = str(max(1, round(self.retry_after_s + 0.4999)))
        return out


class Admission(Protocol):
    def admit(self, principal: Principal, operation: str, units: int = 1) -> AdmissionDecision:
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


class EnforcementSink(Protocol):
    def record(
        self, principal: Principal, verdict: Verdict, decision_id: str
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


class OutputObligations(Protocol):
    def apply(
        self, image: bytes, generation_id: str, pack: ResolvedPack, verdict: Verdict
    ) -> ObligatedOutput: ...


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


def build_backends(settings: Settings) -> Backends:
    """The one line to change when wiring the store/abuse/enforcement/provenance packages."""
    from aupguard.api.embedded import embedded_backends

    return embedded_backends(settings)
