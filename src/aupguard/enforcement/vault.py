"""The evidence vault: items encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256), every
read logged with who and why, kept under a retention hold (one year by default, as US law
requires for material reported to NCMEC) and never shown without a deliberate ``open``.

The key comes from ``AUPGUARD_VAULT_KEY`` (a Fernet key, url-safe base64 of 32 bytes) or
from the key file ``AUPGUARD_VAULT_KEY_FILE`` (default ``./aupguard-vault.key``), which is
created with mode 0600 on first use.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from aupguard.errors import AupguardError
from aupguard.store import Store
from aupguard.store.records import VaultAccess, VaultItem

VAULT_KEY_ENV = "AUPGUARD_VAULT_KEY"
VAULT_KEY_FILE_ENV = "AUPGUARD_VAULT_KEY_FILE"
DEFAULT_VAULT_KEY_FILE = "./aupguard-vault.key"
DEFAULT_RETENTION = dt.timedelta(days=365)


class VaultKeyError(AupguardError):
    """The vault key is missing, malformed, or not the key an item was sealed with."""


def _check_key(key: bytes, where: str) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(key)) != 32:
            raise ValueError
        Fernet(key)
    except (ValueError, TypeError):
        raise VaultKeyError(
            f"{where} is not a Fernet key (url-safe base64 of 32 bytes); make one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from None
    return key


def load_vault_key() -> bytes:
    """The key from the environment, else from (or newly into) the key file."""
    raw = os.environ.get(VAULT_KEY_ENV, "").strip()
    if raw:
        return _check_key(raw.encode("ascii", "replace"), VAULT_KEY_ENV)
    path = Path(os.environ.get(VAULT_KEY_FILE_ENV, "").strip() or DEFAULT_VAULT_KEY_FILE)
    if path.exists():
        return _check_key(path.read_bytes().strip(), f"key file {path}")
    key = Fernet.generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


class EvidenceVault:
    def __init__(
        self, store: Store, key: bytes | None = None, *, retention: dt.timedelta = DEFAULT_RETENTION
    ):
        self._store = store
        self._key = _check_key(key, "the vault key") if key is not None else load_vault_key()
        self._fernet = Fernet(self._key)
        self._key_id = key_id(self._key)
        self.retention = retention

    def seal(
        self,
        content: bytes,
        *,
        content_type: str,
        category: str,
        account_id: str | None,
        actor: str,
        purpose: str,
    ) -> VaultItem:
        return self._store.vault.put(
            ciphertext=self._fernet.encrypt(content),
            sha256=hashlib.sha256(content).hexdigest(),
            content_type=content_type,
            key_id=self._key_id,
            category=category,
            account_id=account_id,
            retain_for=self.retention,
            actor=actor,
            purpose=purpose,
        )

    def open(self, item_id: str, *, actor: str, purpose: str) -> bytes:
        """The plaintext of an item: a deliberate act, logged before anything is decrypted."""
        item = self._store.vault.item(item_id)
        if item.key_id != self._key_id:
            raise VaultKeyError(
                f"vault item {item_id} was sealed with key {item.key_id}; this vault holds "
                f"key {self._key_id}"
            )
        token = self._store.vault.ciphertext(item_id, actor=actor, action="read", purpose=purpose)
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise VaultKeyError(f"vault item {item_id} does not decrypt with this key") from None

    def access_log(self, item_id: str) -> list[VaultAccess]:
        return self._store.vault.access_log(item_id)
