"""Synthetic test images: shapes, gradients, noise and rendered text. No real imagery, except
the public-domain astronaut portrait that ships inside scikit-image (for face detection)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

LATIN_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CJK_FONTS = [
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
]


def shapes(seed: int, size: tuple[int, int] = (512, 512)) -> Image.Image:
    """Random ellipses and rectangles on a gradient: enough structure for a high PDQ quality."""
    rng = np.random.default_rng(seed)
    w, h = size
    gradient = np.linspace(0, 255, w, dtype=np.float64)[None, :, None] * np.ones((h, 1, 3))
    gradient = gradient * rng.uniform(0.3, 1.0, size=3)
    image = Image.fromarray(gradient.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = int(rng.integers(0, max(1, w - 40))), int(rng.integers(0, max(1, h - 40)))
        x1, y1 = (
            x0 + int(rng.integers(2, max(3, w // 2))),
            y0 + int(rng.integers(2, max(3, h // 2))),
        )
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def noise(seed: int, size: tuple[int, int] = (256, 256)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


def skin_tone_blocks(size: tuple[int, int] = (512, 512)) -> Image.Image:
    """Flat blocks in a range of skin tones: exercises the NSFW model on skin colours without
    depicting anything."""
    tones = [(255, 224, 189), (234, 192, 134), (198, 134, 66), (141, 85, 36), (92, 51, 23)]
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    step = size[0] // len(tones)
    for i, tone in enumerate(tones):
        draw.rectangle((i * step, 0, (i + 1) * step, size[1]), fill=tone)
    return image


def rendered_text(
    text: str, font_path: Path = LATIN_FONT, size: tuple[int, int] = (1200, 220), px: int = 48
) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(font_path), px)
    draw.multiline_text((30, 40), text, fill="black", font=font, spacing=16)
    return image


def encode(image: Image.Image, fmt: str = "PNG", **params: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **params)
    return buf.getvalue()


def cjk_font() -> Path | None:
    return next((p for p in CJK_FONTS if p.exists()), None)


@pytest.fixture
def make_png() -> Callable[[Image.Image], bytes]:
    return encode
