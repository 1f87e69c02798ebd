"""Errors the store raises. Each says what was wrong and which id it concerned."""

from __future__ import annotations

from aupguard.errors import AupguardError


class StoreError(AupguardError):
    """Base of store errors. ``code`` is a stable machine-readable name."""

    code = "store_error"


class StoreUnavailableError(StoreError):
    """The database could not be reached or failed; callers fail closed on it."""

    code = "store_unavailable"


class NotFoundError(StoreError, LookupError):
    """An id that names nothing (unknown account, organisation, plan, key, ledger entry)."""

    code = "not_found"

    def __init__(self, kind: str, ident: str):
        self.kind = kind
        self.ident = ident
        super().__init__(f"unknown {kind} {ident!r}")


class AccountClosedError(StoreError):
    code = "account_closed"


class ApiKeyError(StoreError):
    """Base of API-key authentication failures."""

    code = "invalid_api_key"


class InvalidKeyFormatError(ApiKeyError):
    code = "malformed_api_key"


class UnknownKeyError(ApiKeyError):
    code = "unknown_api_key"


class RevokedKeyError(ApiKeyError):
    code = "revoked_api_key"


class ExpiredKeyError(ApiKeyError):
    code = "expired_api_key"


class LedgerError(StoreError, ValueError):
    """A credit operation that cannot be booked (negative or zero amount, double refund…)."""

    code = "ledger_error"


class InsufficientCreditsError(LedgerError):
    code = "insufficient_credits"

    def __init__(self, account_id: str, balance: int, needed: int):
        self.account_id = account_id
        self.balance = balance
        self.needed = needed
        super().__init__(f"account {account_id!r} has {balance} credits; {needed} are needed")
