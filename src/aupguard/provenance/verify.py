"""Did this image come from our service? Watermark payload, C2PA manifest validity and
claims, disclosure metadata, and whether the metadata was stripped."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict

from aupguard.provenance import watermark
from aupguard.provenance.certificates import verification_anchors
from aupguard.provenance.images import ImageFormat, decode_image
from aupguard.provenance.manifest import ManifestSummary, read_manifest
from aupguard.provenance.metadata import read_disclosure
from aupguard.provenance.settings import ProvenanceSettings

VERIFY_MIN_SIDE = 32  # crops of outputs are still worth checking


class WatermarkReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    found: bool
    operator_id: int | None = None
    generation_tag: str | None = None  # hex; match with payload.generation_tag(id)
    issued_at: dt.datetime | None = None
    ours: bool = False  # our operator id, under our key
    sync_z: float
    scale: tuple[float, float]
    generation_matches: bool | None = None  # when a generation id was given to check


class MetadataReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    xmp_present: bool
    digital_source_type: str | None = None
    ai_generated: bool = False
    description: str | None = None


class VerificationReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: ImageFormat
    width: int
    height: int
    watermark: WatermarkReport
    manifest: ManifestSummary | None
    metadata: MetadataReport
    from_our_service: bool
    metadata_stripped: bool
    tampered: bool
    findings: tuple[str, ...]


def verify_image(
    data: bytes, settings: ProvenanceSettings, *, generation_id: str | None = None
) -> VerificationReport:
    decoded = decode_image(data, min_side=VERIFY_MIN_SIDE)
    detection = watermark.detect(decoded.pixels, settings.watermark_key)
    payload = detection.payload
    ours = payload is not None and payload.operator_id == settings.operator_id
    wm = WatermarkReport(
        found=payload is not None,
        operator_id=payload.operator_id if payload else None,
        generation_tag=f"{payload.generation_tag:08x}" if payload else None,
        issued_at=payload.issued_at if payload else None,
        ours=ours,
        sync_z=detection.sync_z,
        scale=detection.scale,
        generation_matches=(
            payload.matches_generation(generation_id) if payload and generation_id else None
        ),
    )
    manifest = read_manifest(data, trust_anchors=verification_anchors(settings))
    meta = read_disclosure(data)
    metadata = MetadataReport(
        xmp_present=meta.xmp_present,
        digital_source_type=meta.digital_source_type,
        ai_generated=meta.ai_generated,
        description=meta.description,
    )
    manifest_ours = (
        manifest is not None
        and manifest.trusted
        and manifest.policy is not None
        and manifest.policy.operator_id == settings.operator_id
    )
    tampered = manifest is not None and manifest.tampered
    stripped = ours and (manifest is None or not metadata.xmp_present)
    findings: list[str] = []
    if payload is not None:
        findings.append(
            f"watermark: operator {payload.operator_id}{' (ours)' if ours else ''}, generation "
            f"tag {wm.generation_tag}, issued {wm.issued_at:%Y-%m-%d %H:%M:%S}Z"
        )
    else:
        findings.append("watermark: none found")
    if manifest is None:
        findings.append("C2PA manifest: none")
    else:
        findings.append(
            f"C2PA manifest: {manifest.validation_state}"
            + (f" ({', '.join(manifest.failures)})" if manifest.failures else "")
            + (f", signed by {manifest.signer}" if manifest.signer else "")
        )
    if tampered:
        findings.append("the image changed after the manifest was signed")
    if stripped:
        findings.append("our watermark is present but the provenance metadata was stripped")
    findings.append(
        "AI-generated metadata: "
        + (
            "present"
            if metadata.ai_generated
            else "present, not AI-labelled"
            if metadata.xmp_present
            else "none"
        )
    )
    return VerificationReport(
        format=decoded.format,
        width=decoded.width,
        height=decoded.height,
        watermark=wm,
        manifest=manifest,
        metadata=metadata,
        from_our_service=ours or manifest_ours,
        metadata_stripped=stripped,
        tampered=tampered,
        findings=tuple(findings),
    )
