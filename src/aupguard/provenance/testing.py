"""Synthetic images for tests, benchmarks and demos: gradients, shapes and noise, never
real imagery. Deterministic for a seed."""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt


def synthetic_image(
    width: int, height: int, *, seed: int = 0, mode: str = "RGB"
) -> npt.NDArray[np.uint8]:
    """A gradient background with random discs and rectangles and mild noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    angle = rng.uniform(0, np.pi)
    t = (xx * np.cos(angle) + yy * np.sin(angle)) / (width + height)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]
    for _ in range(int(rng.integers(3, 9))):
        colour = rng.uniform(0, 255, 3)
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.05, 0.25) * min(width, height)
        if rng.random() < 0.5:
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 < r**2
        else:
            inside = (abs(xx - cx) < r) & (abs(yy - cy) < r * rng.uniform(0.3, 1.0))
        img[inside] = img[inside] * 0.3 + colour * 0.7
    img += rng.normal(0, rng.uniform(0.5, 6.0), img.shape)
    rgb: npt.NDArray[np.uint8] = np.clip(img, 0, 255).astype(np.uint8)
    if mode == "RGB":
        return rgb
    if mode == "L":
        return np.asarray(
            rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114, dtype=np.uint8
        )
    if mode == "RGBA":
        alpha = np.full((height, width, 1), 255, dtype=np.uint8)
        alpha[: height // 8] = 128  # a translucent band
        return np.concatenate([rgb, alpha], axis=2)
    raise ValueError(f"unsupported mode {mode!r}")


def encode(pixels: npt.NDArray[np.uint8], fmt: str = "PNG", **options: object) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(pixels).save(out, fmt, **options)
    return out.getvalue()
