"""Ed25519 keys for signed audit checkpoints.

The private key comes from ``AUPGUARD_AUDIT_SIGNING_KEY`` (base64 of the 32-byte seed) or
from the PEM (PKCS#8) file ``AUPGUARD_AUDIT_SIGNING_KEY_FILE`` (default
``./aupguard-audit.key``). In development (``AUPGUARD_ENV`` unset, ``development`` or
``test``) a missing key file is generated with mode 0600 and announced; elsewhere a missing
key is an error. Anyone holding the public key (``aupguard audit public-key``) can check a
checkpoint; only the holder of the private key can make one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aupguard.records.errors import SigningKeyError

SIGNING_KEY_ENV = "AUPGUARD_AUDIT_SIGNING_KEY"
SIGNING_KEY_FILE_ENV = "AUPGUARD_AUDIT_SIGNING_KEY_FILE"
DEFAULT_SIGNING_KEY_FILE = "./aupguard-audit.key"
_DEVELOPMENT = ("", "development", "test")


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


class PublicKey:
    """A verifying key."""

    def __init__(self, key: Ed25519PublicKey):
        self._key = key
        self.key_id = key_id(key)

    def verify(self, signature_hex: str, message: bytes) -> bool:
        try:
            self._key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def pem(self) -> str:
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    @classmethod
    def from_pem(cls, data: bytes, where: str = "public key") -> PublicKey:
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"{where} is not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError(f"{where} is not an Ed25519 public key")
        return cls(key)

    @classmethod
    def from_file(cls, path: Path) -> PublicKey:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot read public key {path}: {exc.strerror}") from None
        if b"PRIVATE KEY" in data:
            return SigningKey.from_pem(data, str(path)).public_key
        return cls.from_pem(data, f"public key file {path}")


class SigningKey:
    """The private key that signs checkpoints."""

    def __init__(self, key: Ed25519PrivateKey):
        self._key = key
        self.public_key = PublicKey(key.public_key())
        self.key_id = self.public_key.key_id

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).hex()

    def pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, data: bytes, where: str = "signing key") -> SigningKey:
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"{where} is not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"{where} is not an Ed25519 private key")
        return cls(key)

    @classmethod
    def from_seed(cls, text: str, where: str = SIGNING_KEY_ENV) -> SigningKey:
        try:
            seed = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            seed = b""
        if len(seed) != 32:
            raise SigningKeyError(
                f"{where} must be base64 of a 32-byte Ed25519 seed "
                "(or use AUPGUARD_AUDIT_SIGNING_KEY_FILE with a PEM key)"
            )
        return cls(Ed25519PrivateKey.from_private_bytes(seed))


def signing_key_path() -> Path:
    return Path(os.environ.get(SIGNING_KEY_FILE_ENV, "").strip() or DEFAULT_SIGNING_KEY_FILE)


def load_signing_key(
    *, create: bool = True, announce: Callable[[str], None] | None = None
) -> SigningKey:
    """The configured signing key. In development a missing key file is created (and
    ``announce`` told where); outside development, or with ``create=False``, a missing key is
    a ``SigningKeyError``."""
    raw = os.environ.get(SIGNING_KEY_ENV, "").strip()
    if raw:
        return SigningKey.from_seed(raw)
    path = signing_key_path()
    if path.exists():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SigningKeyError(f"cannot read signing key {path}: {exc.strerror}") from None
        return SigningKey.from_pem(data, f"signing key file {path}")
    environment = os.environ.get("AUPGUARD_ENV", "").strip().lower()
    if not create or environment not in _DEVELOPMENT:
        raise SigningKeyError(
            f"no audit signing key: set {SIGNING_KEY_FILE_ENV} to an Ed25519 PEM key file or "
            f"{SIGNING_KEY_ENV} to a base64 seed (looked for {path})"
        )
    key = SigningKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.pem())
    if announce is not None:
        announce(
            f"generated a development audit signing key at {path} (key id {key.key_id}); "
            f"set {SIGNING_KEY_FILE_ENV} to a key you keep outside development"
        )
    return key
