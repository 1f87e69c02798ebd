"""C2PA manifests with ``c2pa-python``: sign one into a JPEG or PNG, read and validate one.

The manifest says: ``c2pa.created`` by the generator with digital source type
``trainedAlgorithmicMedia``, and an ``org.aupguard.policy`` assertion naming the policy pack,
its version, the verdict and the generation (with the watermark's payload, so a stripped
copy found by its watermark can be tied back to the signed original)."""

from __future__ import annotations

import io
import json
from typing import Any

from pydantic import BaseModel, ConfigDict

from aupguard.provenance.certificates import SigningCredentials
from aupguard.provenance.errors import ImageInputError, MissingExtraError, SigningError
from aupguard.provenance.images import ImageFormat, sniff_format
from aupguard.provenance.metadata import TRAINED_ALGORITHMIC_MEDIA

POLICY_ASSERTION = "org.aupguard.policy"
CREATED = "c2pa.created"


class PolicyAssertion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    pack_id: str
    pack_version: str
    verdict_id: str
    verdict_action: str
    generation_id: str
    operator_id: int
    obligations: tuple[str, ...] = ()
    watermark: str | None = None  # hex of the 80-bit payload, when watermarked


class ManifestSummary(BaseModel):
    """What a manifest claims and whether it validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    title: str | None = None
    claim_generator: str | None = None
    actions: tuple[str, ...] = ()
    digital_source_type: str | None = None
    generator: str | None = None
    policy: PolicyAssertion | None = None
    signer: str | None = None
    issuer: str | None = None
    validation_state: str  # Invalid | Valid | Trusted
    failures: tuple[str, ...] = ()  # validation failure codes

    @property
    def valid(self) -> bool:
        return self.validation_state in ("Valid", "Trusted")

    @property
    def trusted(self) -> bool:
        return self.validation_state == "Trusted"

    @property
    def tampered(self) -> bool:
        """The signed data no longer matches the file (pixels or manifest changed)."""
        return any(
            code.endswith(".mismatch") or code.startswith("claimSignature.mismatch")
            for code in self.failures
        )

    @property
    def ai_generated(self) -> bool:
        return self.digital_source_type == TRAINED_ALGORITHMIC_MEDIA


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:
        raise MissingExtraError("c2pa-python") from exc
    return c2pa


def _context(c2pa: Any, trust_anchors: bytes) -> Any:
    settings: dict[str, Any] = {
        # the thumbnail would add a second copy of the picture to every output
        "builder": {"thumbnail": {"enabled": False}},
        "verify": {"verify_trust": bool(trust_anchors)},
    }
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors.decode("ascii", "replace")}
    return c2pa.Context.from_dict(settings)


def sign_manifest(
    image: bytes,
    *,
    generator: str,
    title: str,
    policy: PolicyAssertion,
    credentials: SigningCredentials,
    tsa_url: str | None = None,
) -> bytes:
    """The image with a signed C2PA manifest embedded."""
    c2pa = _c2pa()
    fmt = sniff_format(image)
    manifest = {
        "claim_generator_info": [{"name": "aupguard", "version": _version()}],
        "title": title,
        "format": fmt.mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": CREATED,
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": generator},
                        }
                    ]
                },
            },
            {"label": POLICY_ASSERTION, "data": policy.model_dump(mode="json")},
        ],
    }
    try:
        signer = c2pa.Signer.from_info(
            c2pa.C2paSignerInfo(
                credentials.alg, credentials.chain_pem, credentials.key_pem, tsa_url
            )
        )
        context = _context(c2pa, credentials.trust_anchors_pem)
        builder = c2pa.Builder(json.dumps(manifest), context=context)
        out = io.BytesIO()
        builder.sign(signer, fmt.mime, io.BytesIO(image), out)
    except c2pa.C2paError as exc:
        raise SigningError(f"C2PA signing failed: {exc}") from exc
    return out.getvalue()


def _version() -> str:
    from aupguard import __version__

    return __version__


def read_manifest(image: bytes, *, trust_anchors: bytes = b"") -> ManifestSummary | None:
    """The active manifest of an image and its validation, or None when it carries none."""
    c2pa = _c2pa()
    fmt = sniff_format(image)
    try:
        reader = c2pa.Reader(fmt.mime, io.BytesIO(image), None, _context(c2pa, trust_anchors))
        store = json.loads(reader.json())
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF" in str(exc):
            return None
        if isinstance(exc, getattr(c2pa.C2paError, "ManifestNotFound", ())):
            return None
        raise ImageInputError(
            f"the C2PA data in this image is unreadable: {exc}", code="broken"
        ) from exc
    active = store.get("active_manifest")
    manifest = store.get("manifests", {}).get(active) if active else None
    if manifest is None:
        return None
    return _summarise(active, manifest, store)


def _summarise(label: str, manifest: dict[str, Any], store: dict[str, Any]) -> ManifestSummary:
    actions: list[str] = []
    source_type = generator = None
    policy: PolicyAssertion | None = None
    for assertion in manifest.get("assertions", []):
        name = str(assertion.get("label", ""))
        data = assertion.get("data", {})
        if name.startswith("c2pa.actions"):
            for action in data.get("actions", []):
                actions.append(str(action.get("action")))
                if action.get("action") == CREATED:
                    source_type = action.get("digitalSourceType")
                    generator = (action.get("softwareAgent") or {}).get("name")
        elif name == POLICY_ASSERTION:
            try:
                policy = PolicyAssertion.model_validate(data)
            except ValueError:
                policy = None  # someone else's assertion under our label: not ours
    generator_info = manifest.get("claim_generator_info") or [{}]
    signature = manifest.get("signature_info") or {}
    failures = tuple(
        str(s.get("code"))
        for s in store.get("validation_results", {}).get("activeManifest", {}).get("failure", [])
    )
    return ManifestSummary(
        label=label,
        title=manifest.get("title"),
        claim_generator=generator_info[0].get("name"),
        actions=tuple(actions),
        digital_source_type=source_type,
        generator=generator,
        policy=policy,
        signer=signature.get("common_name"),
        issuer=signature.get("issuer"),
        validation_state=str(store.get("validation_state", "Invalid")),
        failures=failures,
    )


__all__ = [
    "ImageFormat",
    "ManifestSummary",
    "PolicyAssertion",
    "read_manifest",
    "sign_manifest",
]
