"""Image moderation speed on this CPU.

Per 1024x1024 image: each stage (decode, NSFW, PDQ, OCR, faces) in ms (median) and the
total; the full ``Moderator.check_image`` (stages + text detectors on the OCR text + decision);
images/s with 2 worker processes; PDQ bank lookup time at 10^4, 10^5 and 10^6 hashes.

Images are synthetic (shapes on a gradient with a line of rendered text), so OCR has work.

    python benchmarks/image_speed.py [--images 8] [--workers 2]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SIDE = 1024
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def synthetic_jpeg(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, SIDE)[None, :, None] * np.ones((SIDE, 1, 3)) * rng.uniform(0.3, 1, 3)
    image = Image.fromarray(base.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        x, y = (int(v) for v in rng.integers(0, SIDE - 100, 2))
        w, h = (int(v) for v in rng.integers(40, 400, 2))
        draw.ellipse((x, y, x + w, y + h), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    font = ImageFont.truetype(FONT, 56) if os.path.exists(FONT) else ImageFont.load_default()
    draw.rectangle((40, 860, 984, 960), fill="white")
    draw.text((60, 875), f"Sale ends Friday, order #{seed:04d}", fill="black", font=font)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _stages() -> dict[str, Callable[[Any], Any]]:
    from aupguard.detectors.image_faces import FaceImageDetector
    from aupguard.detectors.image_nsfw import NsfwImageDetector
    from aupguard.detectors.image_text import ImageTextDetector
    from aupguard.images.pdq import pdq_hash

    nsfw, ocr, faces = NsfwImageDetector(), ImageTextDetector(), FaceImageDetector()
    return {
        "nsfw": lambda d: nsfw.nsfw_scores([d.image]),
        "pdq": lambda d: pdq_hash(d.image),
        "ocr": lambda d: ocr.read_text(d.image),
        "faces": lambda d: faces.faces(d.pixels),
    }


def time_stages(images: list[bytes]) -> dict[str, list[float]]:
    from aupguard.images import decode_image

    stages = _stages()
    for fn in stages.values():  # load models before timing
        fn(decode_image(images[0]))
    times: dict[str, list[float]] = {"decode": [], **{k: [] for k in stages}, "total": []}
    for data in images:
        started = time.perf_counter()
        decoded = decode_image(data)
        _ = decoded.pixels
        times["decode"].append(time.perf_counter() - started)
        for name, fn in stages.items():
            t = time.perf_counter()
            fn(decoded)
            times[name].append(time.perf_counter() - t)
        times["total"].append(time.perf_counter() - started)
    return times


def _worker_run(images: list[bytes]) -> int:
    time_stages(images)
    return len(images)


def lookup_times(sizes: list[int], queries: int = 200) -> dict[int, tuple[float, float]]:
    from aupguard.images.hash_index import PdqIndex

    rng = np.random.default_rng(0)
    out = {}
    for size in sizes:
        stored = rng.integers(0, 256, (size, 32), dtype=np.uint8)
        index = PdqIndex()
        index.add_many_bytes(stored)
        probes = []
        for i in range(queries):
            bits = (
                np.unpackbits(stored[i * 7919 % size])
                if i % 2 == 0
                else rng.integers(0, 2, 256).astype(np.uint8)
            )
            if i % 2 == 0:
                bits[rng.choice(256, 25, replace=False)] ^= 1
            probes.append(np.packbits(bits).tobytes().hex())
        samples = []
        for probe in probes:
            t = time.perf_counter()
            index.search(probe)
            samples.append(time.perf_counter() - t)
        out[size] = (statistics.median(samples) * 1000, float(np.percentile(samples, 99)) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--skip-lookup", action="store_true")
    args = parser.parse_args()
    images = [synthetic_jpeg(seed) for seed in range(args.images)]
    print(f"{args.images} synthetic {SIDE}x{SIDE} JPEGs, {os.cpu_count()} CPU cores visible")

    times = time_stages(images)
    print("\nper image, one process (median / max ms):")
    for name, samples in times.items():
        print(f"  {name:<8} {statistics.median(samples) * 1000:8.1f} {max(samples) * 1000:8.1f}")

    from aupguard.engine.moderator import Moderator
    from aupguard.policy.registry import default_registry

    moderator = Moderator(default_registry().get("general-usage"))
    moderator.check_image(images[0])
    full = []
    for data in images:
        t = time.perf_counter()
        moderator.check_image(data)
        full.append(time.perf_counter() - t)
    print(
        f"  check_image (all detectors + OCR text through the text pipeline + decision): "
        f"{statistics.median(full) * 1000:.1f} ms median"
    )

    batches = [images[i :: args.workers] for i in range(args.workers)]
    with ProcessPoolExecutor(args.workers) as pool:
        list(pool.map(_worker_run, [images[:1]] * args.workers))  # start and warm the workers
        started = time.perf_counter()
        done = sum(pool.map(_worker_run, batches))
        elapsed = time.perf_counter() - started
    print(
        f"\nthroughput with {args.workers} worker processes (stages): {done / elapsed:.2f} images/s"
    )

    if not args.skip_lookup:
        print("\nPDQ bank lookup (multi-index hashing, distance <= 31), median / p99 ms:")
        for size, (median, p99) in lookup_times([10_000, 100_000, 1_000_000]).items():
            print(f"  {size:>9,} hashes  {median:6.3f}  {p99:6.3f}")


if __name__ == "__main__":
    main()
