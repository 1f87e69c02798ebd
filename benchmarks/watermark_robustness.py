"""Watermark robustness and provenance speed: bit accuracy and detection rate after common
edits, false detections on never-marked images, and embed/sign/detect times.

    PYTHONPATH=src python benchmarks/watermark_robustness.py [--images 8] [--size 1024]

Needs the ``provenance`` extra. Images are synthetic (gradients, shapes, noise)."""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageEnhance

from aupguard.detectors.base import DetectorResult
from aupguard.engine.decide import decide
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry
from aupguard.provenance import ProvenanceSettings, apply_output_obligations
from aupguard.provenance import watermark as wm
from aupguard.provenance.certificates import load_credentials
from aupguard.provenance.images import ImageFormat, encode_image
from aupguard.provenance.manifest import PolicyAssertion, sign_manifest
from aupguard.provenance.payload import WatermarkPayload
from aupguard.provenance.testing import synthetic_image

Pixels = npt.NDArray[np.uint8]
KEY = "benchmark-watermark-key"


def _jpeg(a: Pixels, quality: int) -> Pixels:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def _resize(a: Pixels, f: float) -> Pixels:
    im = Image.fromarray(a)
    return np.asarray(
        im.resize((round(im.width * f), round(im.height * f)), Image.Resampling.BILINEAR)
    )


def _crop(a: Pixels, f: float) -> Pixels:
    h, w = a.shape[:2]
    return a[int(h * f) : h - int(h * f), int(w * f) : w - int(w * f)]


def _brightness(a: Pixels, f: float) -> Pixels:
    return np.asarray(ImageEnhance.Brightness(Image.fromarray(a)).enhance(f))


def _noise(a: Pixels, sigma: float) -> Pixels:
    noisy = a + np.random.default_rng(1).normal(0, sigma, a.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _screenshot(a: Pixels) -> Pixels:
    """Displayed at 80%, captured with window chrome around it, saved as JPEG 85."""
    im = Image.fromarray(a)
    im = im.resize((round(im.width * 0.8), round(im.height * 0.8)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (im.width + 130, im.height + 170), (240, 240, 240))
    canvas.paste(im, (37, 91))
    return _jpeg(np.asarray(canvas), 85)


ATTACKS: dict[str, Callable[[Pixels], Pixels]] = {
    "none": lambda a: a,
    "JPEG q90": lambda a: _jpeg(a, 90),
    "JPEG q75": lambda a: _jpeg(a, 75),
    "JPEG q50": lambda a: _jpeg(a, 50),
    "resize 50%": lambda a: _resize(a, 0.5),
    "crop 10% each side": lambda a: _crop(a, 0.1),
    "brightness +20%": lambda a: _brightness(a, 1.2),
    "brightness -20%": lambda a: _brightness(a, 0.8),
    "Gaussian noise σ=5": lambda a: _noise(a, 5.0),
    "screenshot (80%, frame, JPEG 85)": _screenshot,
    "JPEG q50 + crop + resize 75%": lambda a: _resize(_crop(_jpeg(a, 50), 0.1), 0.75),
}


def _ms(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def robustness(images: int, size: int) -> None:
    payload = WatermarkPayload.for_generation(1234, "benchmark-generation")
    ref = payload.to_bits()
    marked = [wm.embed(synthetic_image(size, size, seed=s), payload, KEY) for s in range(images)]
    psnr = statistics.mean(
        10
        * np.log10(255**2 / np.mean((m.astype(float) - synthetic_image(size, size, seed=s)) ** 2))
        for s, m in enumerate(marked)
    )
    print(f"\n## Robustness, {images} synthetic {size}x{size} RGB images, PSNR {psnr:.1f} dB\n")
    print("| edit | bit accuracy | payload decoded | mean sync z |")
    print("|---|---|---|---|")
    for name, attack in ATTACKS.items():
        acc, ok, zs = [], 0, []
        for m in marked:
            d = wm.detect(attack(m), KEY)
            acc.append(float((d.bits == ref).mean()))
            ok += d.payload == payload
            zs.append(d.sync_z)
        print(
            f"| {name} | {statistics.mean(acc):.3f} | {ok}/{images} | {statistics.mean(zs):.1f} |"
        )


def false_detections(count: int) -> None:
    rng = np.random.default_rng(7)
    hits = 0
    for i in range(count):
        side = int(rng.choice([128, 256, 384, 512]))
        pixels = (
            synthetic_image(side, side, seed=10_000 + i)
            if i % 2 == 0
            else rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        )
        hits += wm.detect(pixels, KEY).payload is not None
    print(f"\n## False detections: {hits}/{count} never-watermarked images reported a payload\n")


def speed(size: int) -> None:
    pixels = synthetic_image(size, size, seed=99)
    payload = WatermarkPayload.for_generation(1234, "speed")
    settings = ProvenanceSettings(data_dir=Path(tempfile.mkdtemp()), watermark_key=KEY)
    credentials = load_credentials(settings)
    policy = PolicyAssertion(
        pack_id="krea-2",
        pack_version="1.0.0",
        verdict_id="vd_x",
        verdict_action="allow",
        generation_id="speed",
        operator_id=1234,
    )
    marked = wm.embed(pixels, payload, KEY)
    jpeg = encode_image(marked, ImageFormat.JPEG)
    png = encode_image(marked, ImageFormat.PNG)
    pack = default_registry().get("krea-2").pack
    verdict = decide(pack, [DetectorResult(detector="b", version="1")], Modality.OUTPUT_IMAGE)
    source_jpeg = encode_image(pixels, ImageFormat.JPEG)
    rows = {
        "watermark embed": _ms(lambda: wm.embed(pixels, payload, KEY)),
        "watermark detect (unedited)": _ms(lambda: wm.detect(marked, KEY)),
        "watermark detect (resized 50%: scale search)": _ms(
            lambda: wm.detect(_resize(marked, 0.5), KEY)
        ),
        "C2PA sign JPEG": _ms(
            lambda: sign_manifest(
                jpeg, generator="b", title="t", policy=policy, credentials=credentials
            )
        ),
        "C2PA sign PNG": _ms(
            lambda: sign_manifest(
                png, generator="b", title="t", policy=policy, credentials=credentials
            )
        ),
        "JPEG encode (q95)": _ms(lambda: encode_image(marked, ImageFormat.JPEG)),
        "PNG encode": _ms(lambda: encode_image(marked, ImageFormat.PNG)),
        "apply_output_obligations, JPEG in/out (decode, mark, XMP, encode, sign, re-validate)": _ms(
            lambda: apply_output_obligations(
                source_jpeg, generation_id="s", pack=pack, verdict=verdict, settings=settings
            )
        ),
    }
    print(f"\n## Speed at {size}x{size} (median of 5, this CPU)\n")
    print("| step | ms |")
    print("|---|---|")
    for name, ms in rows.items():
        print(f"| {name} | {ms:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--unmarked", type=int, default=300)
    args = parser.parse_args()
    robustness(args.images, args.size)
    false_detections(args.unmarked)
    speed(1024)


if __name__ == "__main__":
    main()
