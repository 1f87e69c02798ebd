from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from aupguard.detectors.base import DetectorResult
from aupguard.engine.decide import decide
from aupguard.policy.models import Modality, PolicyPack
from aupguard.provenance import (
    apply_output_obligations,
    provenance_circumvention_signal,
    verify_image,
)
from aupguard.provenance.certificates import CHAIN_FILE, ROOT_FILE
from aupguard.provenance.manifest import read_manifest
from aupguard.provenance.metadata import TRAINED_ALGORITHMIC_MEDIA, read_disclosure
from aupguard.provenance.settings import ProvenanceSettings
from aupguard.provenance.testing import encode, synthetic_image


def _output(
    pack: PolicyPack, settings: ProvenanceSettings, fmt: str, mode: str = "RGB", gen: str = "gen-1"
) -> bytes:
    verdict = decide(pack, [DetectorResult(detector="fixture", version="1")], Modality.OUTPUT_IMAGE)
    result = apply_output_obligations(
        encode(synthetic_image(384, 320, seed=5, mode=mode), fmt),
        generation_id=gen,
        pack=pack,
        verdict=verdict,
        settings=settings,
    )
    assert result.image is not None
    return result.image


@pytest.mark.parametrize(
    ("fmt", "mode"), [("JPEG", "RGB"), ("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "L"), ("JPEG", "L")]
)
def test_signed_manifest_validates_and_says_what_made_it(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings, fmt: str, mode: str
) -> None:
    signed = _output(packs["krea-2"], settings, fmt, mode)
    assert Image.open(io.BytesIO(signed)).format == fmt
    report = verify_image(signed, settings, generation_id="gen-1")
    manifest = report.manifest
    assert manifest is not None and manifest.trusted, report.findings
    assert manifest.actions == ("c2pa.created",)
    assert manifest.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert manifest.generator == settings.generator
    assert manifest.policy is not None
    assert (manifest.policy.pack_id, manifest.policy.pack_version) == ("krea-2", "1.0.0")
    assert manifest.policy.verdict_id.startswith("vd_")
    assert report.watermark.found and report.watermark.ours and report.watermark.generation_matches
    assert report.metadata.ai_generated
    assert report.from_our_service and not report.metadata_stripped and not report.tampered


def test_development_chain_is_generated_once_and_is_a_real_chain(
    settings: ProvenanceSettings,
) -> None:
    from cryptography import x509

    directory = settings.data_dir / "dev-certs"
    assert (directory / ROOT_FILE).is_file()
    certs = x509.load_pem_x509_certificates((directory / CHAIN_FILE).read_bytes())
    leaf, root = certs
    assert leaf.issuer == root.subject and leaf.issuer != leaf.subject
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).critical


def test_pixel_tampering_after_signing_is_detected(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings
) -> None:
    signed = _output(packs["krea-2"], settings, "PNG")
    img = Image.open(io.BytesIO(signed))
    pixels = np.asarray(img).copy()
    pixels[10:30, 10:30] = 0
    # re-encode keeping the manifest chunk: copy every ancillary chunk of the signed file
    tampered = _replace_png_pixels(signed, pixels)
    manifest = read_manifest(tampered, trust_anchors=b"")
    assert manifest is not None and not manifest.valid and manifest.tampered
    assert verify_image(tampered, settings).tampered


def _replace_png_pixels(signed: bytes, pixels: np.ndarray) -> bytes:
    """The signed PNG's chunks with its image data swapped for new pixels."""
    fresh = encode(pixels, "PNG")

    def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
        out, pos = [], 8
        while pos < len(data):
            length = int.from_bytes(data[pos : pos + 4], "big")
            out.append((data[pos + 4 : pos + 8], data[pos : pos + 12 + length]))
            pos += 12 + length
        return out

    new_idat = b"".join(raw for kind, raw in chunks(fresh) if kind == b"IDAT")
    parts, done = [], False
    for kind, raw in chunks(signed):
        if kind == b"IDAT":
            if not done:
                parts.append(new_idat)
                done = True
            continue
        parts.append(raw)
    return signed[:8] + b"".join(parts)


def test_stripped_output_is_still_ours_and_flagged(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings
) -> None:
    signed = _output(packs["krea-2"], settings, "JPEG", gen="gen-strip")
    # a re-save through an editor: pixels kept, metadata and manifest gone, recompressed
    stripped = encode(np.asarray(Image.open(io.BytesIO(signed)).convert("RGB")), "JPEG", quality=80)
    assert not read_disclosure(stripped).xmp_present
    report = verify_image(stripped, settings, generation_id="gen-strip")
    assert report.manifest is None
    assert report.watermark.ours and report.from_our_service and report.metadata_stripped
    signal = provenance_circumvention_signal(
        stripped, prompt=None, settings=settings, report=report
    )
    assert signal.scores["circumvention"] >= 0.5
    assert signal.evidence[0].rule == "provenance:stripped-output"


def test_removal_request_on_our_output_is_circumvention(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings
) -> None:
    signed = _output(packs["krea-2"], settings, "PNG", gen="gen-remove")
    asked = provenance_circumvention_signal(
        signed, prompt="remove the watermark and strip the content credentials", settings=settings
    )
    assert asked.scores.get("circumvention", 0) >= 0.9
    innocent = provenance_circumvention_signal(
        signed, prompt="make the sky a little bluer", settings=settings
    )
    assert innocent.scores == {}
    foreign = provenance_circumvention_signal(
        encode(synthetic_image(256, 256, seed=9)), prompt="remove the watermark", settings=settings
    )
    assert foreign.scores == {}, "an image that never came from us is not our provenance"


def test_unmarked_image_is_not_ours(settings: ProvenanceSettings) -> None:
    report = verify_image(encode(synthetic_image(300, 200, seed=1), "JPEG"), settings)
    assert not report.from_our_service and report.manifest is None and not report.watermark.found
    assert not report.metadata_stripped
