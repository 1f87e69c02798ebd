"""Signing credentials for C2PA manifests.

Operators configure their own certificate chain and key (``AUPGUARD_C2PA_CERT_CHAIN``,
``AUPGUARD_C2PA_PRIVATE_KEY``). Without them, a development chain is generated on first run
in ``AUPGUARD_PROVENANCE_DIR``: a root CA and an end-entity signing certificate that meet the
C2PA certificate profile (X.509 v3; the signer is not a CA, its key usage is critical and
asserts digitalSignature, its extended key usage names emailProtection and documentSigning
and not anyExtendedKeyUsage; subject and authority key identifiers present). Manifests
signed with it validate, and are *trusted* only by verifiers given its root as a trust
anchor — which ours is, so "did this come from our service" has an answer in development.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aupguard.provenance.errors import MissingExtraError, SigningError
from aupguard.provenance.settings import ProvenanceSettings

ROOT_FILE = "root-ca.pem"
CHAIN_FILE = "signer-chain.pem"
KEY_FILE = "signer-key.pem"
DOCUMENT_SIGNING_OID = "1.3.6.1.5.5.7.3.36"


@dataclass(frozen=True)
class SigningCredentials:
    chain_pem: bytes  # end-entity certificate first, then its issuers
    key_pem: bytes
    alg: str
    trust_anchors_pem: bytes  # roots a verifier trusts (ours plus any configured)
    development: bool


def _generate_development_chain(directory: Path, organisation: str) -> None:
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier
    except ImportError as exc:  # pragma: no cover - the extra pins cryptography
        raise MissingExtraError("cryptography") from exc

    now = dt.datetime.now(dt.UTC)

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "development only"),
            ]
        )

    def usage(*, sign: bool, ca: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        )

    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = name("aupguard development root CA")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(sign=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(name("aupguard development C2PA signer"))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(sign=True, ca=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.EMAIL_PROTECTION, ObjectIdentifier(DOCUMENT_SIGNING_OID)]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / ROOT_FILE).write_bytes(root.public_bytes(pem))
    (directory / CHAIN_FILE).write_bytes(signer.public_bytes(pem) + root.public_bytes(pem))
    key_path = directory / KEY_FILE
    key_path.write_bytes(
        signer_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)


def development_directory(settings: ProvenanceSettings) -> Path:
    """The development chain's directory, generated on first use. Generation happens in a
    temporary directory renamed into place, so concurrent first runs never mix a key with
    another run's certificate."""
    target = settings.data_dir / "dev-certs"
    if (target / KEY_FILE).is_file():
        return target
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".dev-certs-", dir=settings.data_dir))
    try:
        _generate_development_chain(staging, settings.operator_name)
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / KEY_FILE).is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read the {what} at {path}: {exc.strerror}") from exc
    if b"-----BEGIN" not in data:
        raise SigningError(f"the {what} at {path} is not PEM")
    return data


def load_credentials(settings: ProvenanceSettings) -> SigningCredentials:
    extra = _read(settings.trust_anchors, "trust anchors") if settings.trust_anchors else b""
    if settings.cert_chain is not None and settings.private_key is not None:
        return SigningCredentials(
            chain_pem=_read(settings.cert_chain, "certificate chain"),
            key_pem=_read(settings.private_key, "private key"),
            alg=settings.signing_alg,
            trust_anchors_pem=extra,
            development=False,
        )
    directory = development_directory(settings)
    return SigningCredentials(
        chain_pem=_read(directory / CHAIN_FILE, "development certificate chain"),
        key_pem=_read(directory / KEY_FILE, "development private key"),
        alg="es256",
        trust_anchors_pem=_read(directory / ROOT_FILE, "development root") + extra,
        development=True,
    )


def verification_anchors(settings: ProvenanceSettings) -> bytes:
    """Roots a verifier trusts: configured anchors, plus the development root if one exists
    (never generated just to verify)."""
    anchors = _read(settings.trust_anchors, "trust anchors") if settings.trust_anchors else b""
    dev_root = settings.data_dir / "dev-certs" / ROOT_FILE
    if dev_root.is_file():
        anchors += dev_root.read_bytes()
    return anchors
