"""Typed, frozen records the store hands out (never live ORM rows)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, from_attributes=True)


# an operation name, or "*" for any operation a plan does not list
OperationName = Annotated[str, Field(pattern=r"^(\*|[a-z][a-z0-9_.:-]{0,63})$")]


class Plan(_Record):
    """Limits and prices of a plan. Rates and quotas are in cost units (a plain check is 1;
    an image costs more with its size); prices are whole credits per cost unit, per
    operation (``"*"`` is the price of any operation not listed)."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    name: str
    rate_per_second: Annotated[float, Field(gt=0)]
    burst: Annotated[float, Field(ge=1)]
    daily_quota: Annotated[float, Field(gt=0)] | None = None
    monthly_quota: Annotated[float, Field(gt=0)] | None = None
    credit_prices: dict[OperationName, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    created_at: dt.datetime | None = None

    def price_of(self, operation: str) -> int:
        """Credits per cost unit of ``operation`` (0: the plan does not charge for it)."""
        return self.credit_prices.get(operation, self.credit_prices.get("*", 0))


class Organisation(_Record):
    id: str
    name: str
    plan_id: str | None
    created_at: dt.datetime


class Account(_Record):
    id: str
    org_id: str
    external_id: str | None
    email: str | None
    email_normalized: str | None
    plan_id: str | None
    created_at: dt.datetime
    closed_at: dt.datetime | None


class AgeMethod(StrEnum):
    SELF_DECLARED = "self_declared"
    VERIFIED = "verified"  # a document or provider check
    PARENTAL_CONSENT = "parental_consent"
    FAILED = "failed"  # a verification that came back under age or unverifiable


class AgeAttestation(_Record):
    account_id: str
    method: AgeMethod
    age_years: int | None
    parental_consent: bool
    recorded_at: dt.datetime


class PolicyAcceptance(_Record):
    account_id: str
    pack_id: str
    pack_version: str
    accepted_at: dt.datetime


class UseCase(_Record):
    id: int
    org_id: str
    account_id: str | None
    description: str
    categories: list[str]
    declared_at: dt.datetime


class IdentifierKind(StrEnum):
    """What can link two accounts. IP networks link weakly (NATs, schools, offices)."""

    EMAIL = "email"
    DEVICE = "device"
    PAYMENT = "payment"
    NETWORK = "network"


class AccountLink(_Record):
    """Another account that shares identifiers with this one."""

    account_id: str
    shared: dict[IdentifierKind, list[str]]


class ApiKey(_Record):
    id: str
    account_id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_reason: str | None
    rotated_to: str | None
    last_used_at: dt.datetime | None

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None and self.revoked_at <= now:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class IssuedKey(BaseModel):
    """A key as created: ``secret`` is shown once and never stored (only its hash is)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ApiKey
    secret: str


class LedgerKind(StrEnum):
    GRANT = "grant"
    SPEND = "spend"
    REFUND = "refund"
    FORFEITURE = "forfeiture"
    RESTORE = "restore"  # a reversed forfeiture


class LedgerEntry(_Record):
    id: int
    account_id: str
    kind: LedgerKind
    amount: int
    counterparty: str
    operation: str | None
    reference: str | None
    refund_of: int | None
    reason: str | None
    created_at: dt.datetime


class Event(_Record):
    id: int
    at: dt.datetime
    kind: str
    actor: str
    account_id: str | None
    org_id: str | None
    subject: str | None
    data: dict[str, Any]
    # the audit chain (None only for a row written around ``EventLog.append``)
    seq: int | None = None
    payload_hash: str | None = None
    prev_hash: str | None = None
    hash: str | None = None


class NewEvent(BaseModel):
    """An event to append (``EventLog.append_many``, ``AuditLog.append_many``): what the
    caller says; the log adds ``seq`` and the hashes. ``at`` defaults to the store's clock
    and must be timezone-aware."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Annotated[str, Field(min_length=1, max_length=64)]
    actor: Annotated[str, Field(min_length=1, max_length=200)]
    account_id: Annotated[str, Field(max_length=40)] | None = None
    org_id: Annotated[str, Field(max_length=40)] | None = None
    subject: Annotated[str, Field(max_length=200)] | None = None
    data: dict[str, Any] | None = None
    at: dt.datetime | None = None

    @field_validator("kind", "actor")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("at")
    @classmethod
    def _aware(cls, value: dt.datetime | None) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime; use an aware UTC datetime")
        return value


class Strike(_Record):
    id: int
    account_id: str
    pack_id: str
    pack_version: str
    clause_id: str
    category: str
    weight: int
    reference: str | None
    created_at: dt.datetime
    expires_at: dt.datetime
    reversed_at: dt.datetime | None
    reversed_by: str | None

    def active(self, now: dt.datetime) -> bool:
        return self.reversed_at is None and self.expires_at > now


class RecordedAction(_Record):
    """An enforcement step as carried out (``step`` is an ``ActionKind`` value)."""

    id: str
    account_id: str
    step: str
    step_id: str | None
    pack_id: str | None
    pack_version: str | None
    clause_id: str | None
    category: str | None
    reason: str
    created_at: dt.datetime
    until: dt.datetime | None
    ledger_entry_id: int | None
    reversed_at: dt.datetime | None
    reversed_by: str | None
    reversal_reason: str | None

    def in_force(self, now: dt.datetime) -> bool:
        return self.reversed_at is None and (self.until is None or self.until > now)


class VaultItem(_Record):
    """Metadata of a vaulted item; the content stays encrypted in the store."""

    id: str
    account_id: str | None
    sha256: str
    content_type: str
    key_id: str
    category: str
    created_at: dt.datetime
    retain_until: dt.datetime
    report_path: str | None


class VaultAccess(_Record):
    id: int
    item_id: str
    actor: str
    action: str
    purpose: str
    at: dt.datetime
