"""Storage for accounts, API keys, plans, the credit ledger, enforcement state and events.

SQLAlchemy 2 over a SQLite file by default (``AUPGUARD_DATABASE_URL``, default
``sqlite:///./aupguard.db``) or PostgreSQL (``postgresql+psycopg://…``). ``Store.open(url)``
upgrades the schema to the newest Alembic revision shipped in this package.

Needs the ``store`` extra: ``pip install 'aupguard[store]'``.
"""

from __future__ import annotations

try:
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "aupguard.store needs the 'store' extra: pip install 'aupguard[store]'"
    ) from exc

from aupguard.store.db import DEFAULT_DATABASE_URL, Clock, Store, database_url_from_env, utcnow
from aupguard.store.errors import (
    AccountClosedError,
    ApiKeyError,
    ExpiredKeyError,
    InsufficientCreditsError,
    InvalidKeyFormatError,
    LedgerError,
    NotFoundError,
    RevokedKeyError,
    StoreError,
    StoreUnavailableError,
    UnknownKeyError,
)
from aupguard.store.records import (
    Account,
    AgeAttestation,
    ApiKey,
    Event,
    IssuedKey,
    LedgerEntry,
    NewEvent,
    Organisation,
    Plan,
    PolicyAcceptance,
    UseCase,
)

__all__ = [
    "DEFAULT_DATABASE_URL",
    "Account",
    "AccountClosedError",
    "AgeAttestation",
    "ApiKey",
    "ApiKeyError",
    "Clock",
    "Event",
    "ExpiredKeyError",
    "InsufficientCreditsError",
    "InvalidKeyFormatError",
    "IssuedKey",
    "LedgerEntry",
    "LedgerError",
    "NewEvent",
    "NotFoundError",
    "Organisation",
    "Plan",
    "PolicyAcceptance",
    "RevokedKeyError",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "UnknownKeyError",
    "UseCase",
    "database_url_from_env",
    "utcnow",
]
