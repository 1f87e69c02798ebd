from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from aupguard.provenance import watermark
from aupguard.provenance.payload import WatermarkPayload, generation_tag
from aupguard.provenance.testing import synthetic_image

KEY = "test-key-0123456789"
PAYLOAD = WatermarkPayload(
    operator_id=4242, generation_tag=generation_tag("gen-7"), timestamp=1_790_000_000
)


def _jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def test_payload_round_trips_through_bits_and_crc_rejects_a_flip() -> None:
    bits = PAYLOAD.to_bits()
    assert bits.size == 96
    assert WatermarkPayload.from_bits(bits) == PAYLOAD
    for i in (0, 40, 95):
        flipped = bits.copy()
        flipped[i] ^= 1
        assert WatermarkPayload.from_bits(flipped) is None
    assert PAYLOAD.matches_generation("gen-7")
    assert not PAYLOAD.matches_generation("gen-8")


@pytest.mark.parametrize("size", [(256, 256), (640, 480), (1024, 1024), (2048, 2048)])
@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_round_trip_on_sizes_and_modes(size: tuple[int, int], mode: str) -> None:
    if size == (2048, 2048) and mode != "RGB":
        pytest.skip("one 2048² case is enough for run time")
    pixels = synthetic_image(*size, seed=sum(size), mode=mode)
    marked = watermark.embed(pixels, PAYLOAD, KEY)
    assert marked.shape == pixels.shape and marked.dtype == np.uint8
    if mode == "RGBA":
        assert np.array_equal(marked[..., 3], pixels[..., 3]), "alpha must be untouched"
    diff = marked.astype(float) - pixels
    psnr = 10 * np.log10(255**2 / np.mean(diff**2))
    assert psnr > 37, f"the mark is too strong to be invisible: PSNR {psnr:.1f} dB"
    found = watermark.detect(marked, KEY)
    assert found.payload == PAYLOAD
    assert watermark.detect(pixels, KEY).payload is None


def test_survives_jpeg_crop_and_resize() -> None:
    pixels = synthetic_image(768, 768, seed=11)
    marked = watermark.embed(pixels, PAYLOAD, KEY)
    assert watermark.detect(_jpeg(marked, 50), KEY).payload == PAYLOAD
    h, w = marked.shape[:2]
    cropped = marked[h // 10 : h - h // 10, w // 10 : w - w // 10]
    assert watermark.detect(cropped, KEY).payload == PAYLOAD
    half = np.asarray(Image.fromarray(marked).resize((w // 2, h // 2), Image.Resampling.BILINEAR))
    result = watermark.detect(half, KEY)
    assert result.payload == PAYLOAD
    assert result.scale == pytest.approx((0.5, 0.5), abs=0.01)
    darker = np.asarray(ImageEnhance.Brightness(Image.fromarray(marked)).enhance(0.8))
    assert watermark.detect(darker, KEY).payload == PAYLOAD


def test_another_key_reads_nothing() -> None:
    marked = watermark.embed(synthetic_image(512, 512, seed=3), PAYLOAD, KEY)
    assert watermark.detect(marked, "some-other-operator-key").payload is None


def test_never_reports_a_payload_on_unmarked_images() -> None:
    """Several hundred never-watermarked images of different kinds and sizes: no payload."""
    rng = np.random.default_rng(2024)
    false_positives = []
    for i in range(300):
        kind = i % 3
        side = int(rng.choice([64, 96, 128, 160, 192]))
        if kind == 0:
            pixels = synthetic_image(side, side, seed=i)
        elif kind == 1:  # pure noise, the hardest case for a correlator
            pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        else:  # periodic stripes: strong autocorrelation that is not our tile
            period = int(rng.integers(4, 40))
            ramp = (np.arange(side) % period) * (255 // period)
            pixels = np.repeat(np.tile(ramp, (side, 1))[..., None], 3, axis=2).astype(np.uint8)
        result = watermark.detect(pixels, KEY)
        if result.payload is not None:
            false_positives.append(i)
    assert false_positives == []
