"""API keys. Only a SHA-256 hash of the secret is stored; the prefix is kept to show it.

A key reads ``aupg_<8 hex>_<43 url-safe chars>`` (256 random bits), so a leaked key is
recognisable in logs and secret scanners, and a hash lookup is all authentication needs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from aupguard.store.accounts import SYSTEM, get_row
from aupguard.store.errors import (
    AccountClosedError,
    ExpiredKeyError,
    InvalidKeyFormatError,
    RevokedKeyError,
    StoreError,
    UnknownKeyError,
)
from aupguard.store.records import Account, ApiKey, IssuedKey, Organisation
from aupguard.store.schema import AccountRow, ApiKeyRow, OrganisationRow

if TYPE_CHECKING:
    from aupguard.store.db import Store

KEY_PATTERN = re.compile(r"^aupg_([0-9a-f]{8})_([A-Za-z0-9_-]{43})$")
SCOPE_PATTERN = re.compile(r"^[a-z][a-z0-9_.:*-]{0,63}$")
DEFAULT_SCOPES = ("moderate", "generate")
# last_used_at is written at most this often per key (a write per request would dominate)
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


class KeyOwner(BaseModel):
    """Who an authenticated key belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key: ApiKey
    account: Account
    org: Organisation


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _new_secret() -> tuple[str, str]:
    public = secrets.token_hex(4)
    return f"aupg_{public}_{secrets.token_urlsafe(32)}", f"aupg_{public}"


class KeyRepository:
    def __init__(self, store: Store):
        self._store = store

    def create(
        self,
        account_id: str,
        *,
        name: str = "default",
        scopes: Iterable[str] = DEFAULT_SCOPES,
        expires_at: dt.datetime | None = None,
        actor: str = SYSTEM,
    ) -> IssuedKey:
        scope_list = sorted(set(scopes))
        bad = [s for s in scope_list if not SCOPE_PATTERN.match(s)]
        if bad:
            raise StoreError(f"invalid scope {bad[0]!r}; scopes look like 'moderate' or 'images:*'")
        now = self._store.now()
        if expires_at is not None and expires_at <= now:
            raise StoreError(f"expiry {expires_at.isoformat()} is not in the future")
        with self._store.session(write=True) as s:
            account = get_row(s, AccountRow, account_id, "account")
            if account.closed_at is not None:
                raise AccountClosedError(f"account {account_id!r} is closed; no new keys")
            secret, prefix = _new_secret()
            row = ApiKeyRow(
                id=f"key_{prefix[5:]}{secrets.token_hex(4)}",
                account_id=account_id,
                name=name,
                prefix=prefix,
                secret_hash=hash_secret(secret),
                scopes=scope_list,
                created_at=now,
                expires_at=expires_at,
                revoked_at=None,
                revoked_reason=None,
                rotated_to=None,
                last_used_at=None,
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                "key.created",
                actor=actor,
                account_id=account_id,
                org_id=account.org_id,
                subject=row.id,
                data={"prefix": prefix, "scopes": scope_list, "name": name},
            )
            return IssuedKey(key=ApiKey.model_validate(row), secret=secret)

    def get(self, key_id: str) -> ApiKey:
        with self._store.session() as s:
            return ApiKey.model_validate(get_row(s, ApiKeyRow, key_id, "API key"))

    def for_account(self, account_id: str, *, include_inactive: bool = True) -> list[ApiKey]:
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            rows = s.scalars(
                select(ApiKeyRow)
                .where(ApiKeyRow.account_id == account_id)
                .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
            )
            keys = [ApiKey.model_validate(r) for r in rows]
        now = self._store.now()
        return keys if include_inactive else [k for k in keys if k.state(now) == "active"]

    def revoke(self, key_id: str, *, reason: str = "", actor: str = SYSTEM) -> ApiKey:
        with self._store.session(write=True) as s:
            row = get_row(s, ApiKeyRow, key_id, "API key")
            if row.revoked_at is not None and row.revoked_at <= self._store.now():
                raise RevokedKeyError(f"API key {key_id!r} is already revoked")
            row.revoked_at = self._store.now()
            row.revoked_reason = reason or "revoked"
            account = get_row(s, AccountRow, row.account_id, "account")
            self._store.events.append(
                s,
                "key.revoked",
                actor=actor,
                account_id=row.account_id,
                org_id=account.org_id,
                subject=key_id,
                data={"reason": row.revoked_reason},
            )
            return ApiKey.model_validate(row)

    def rotate(
        self, key_id: str, *, grace: dt.timedelta = dt.timedelta(0), actor: str = SYSTEM
    ) -> IssuedKey:
        """A new key with the same name and scopes; the old one stops working after
        ``grace`` (immediately by default)."""
        if grace < dt.timedelta(0):
            raise StoreError("a rotation grace period cannot be negative")
        old = self.get(key_id)
        now = self._store.now()
        if old.state(now) != "active":
            raise RevokedKeyError(f"API key {key_id!r} is {old.state(now)}; it cannot be rotated")
        issued = self.create(
            old.account_id, name=old.name, scopes=old.scopes, expires_at=old.expires_at, actor=actor
        )
        with self._store.session(write=True) as s:
            row = get_row(s, ApiKeyRow, key_id, "API key")
            row.rotated_to = issued.key.id
            if grace == dt.timedelta(0):
                row.revoked_at = now
                row.revoked_reason = f"rotated to {issued.key.id}"
            else:
                ends = now + grace
                row.expires_at = ends if row.expires_at is None else min(row.expires_at, ends)
            account = get_row(s, AccountRow, row.account_id, "account")
            self._store.events.append(
                s,
                "key.rotated",
                actor=actor,
                account_id=row.account_id,
                org_id=account.org_id,
                subject=key_id,
                data={"new_key": issued.key.id, "grace_seconds": grace.total_seconds()},
            )
        return issued

    def authenticate(self, secret: str) -> KeyOwner:
        """The key, account and organisation a secret belongs to.

        Raises ``InvalidKeyFormatError`` (not a key at all), ``UnknownKeyError``,
        ``RevokedKeyError``, ``ExpiredKeyError`` or ``AccountClosedError``."""
        secret = secret.strip()
        if secret.lower().startswith("bearer "):
            secret = secret[7:].strip()
        match = KEY_PATTERN.match(secret)
        if match is None:
            shown = f"{secret[:9]}…" if len(secret) > 9 else "(too short)"
            raise InvalidKeyFormatError(
                f"not an aupguard API key: {shown}; keys look like aupg_<8 hex>_<43 chars>"
            )
        now = self._store.now()
        with self._store.session() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.secret_hash == hash_secret(secret)))
            if row is None:
                raise UnknownKeyError(f"unknown API key aupg_{match.group(1)}…")
            key = ApiKey.model_validate(row)
            if key.state(now) == "revoked":
                raise RevokedKeyError(
                    f"API key {key.prefix}… was revoked at {key.revoked_at:%Y-%m-%d %H:%M} UTC"
                    if key.revoked_at
                    else f"API key {key.prefix}… was revoked"
                )
            if key.state(now) == "expired":
                raise ExpiredKeyError(
                    f"API key {key.prefix}… expired at {key.expires_at:%Y-%m-%d %H:%M} UTC"
                    if key.expires_at
                    else f"API key {key.prefix}… expired"
                )
            account = get_row(s, AccountRow, row.account_id, "account")
            if account.closed_at is not None:
                raise AccountClosedError(f"the account of API key {key.prefix}… is closed")
            org = get_row(s, OrganisationRow, account.org_id, "organisation")
            owner = KeyOwner(
                key=key,
                account=Account.model_validate(account),
                org=Organisation.model_validate(org),
            )
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
            with self._store.session(write=True) as s:
                row2 = s.get(ApiKeyRow, key.id)
                if row2 is not None:
                    row2.last_used_at = now
        return owner
