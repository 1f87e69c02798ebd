from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from aupguard.provenance import ImageInputError, verify_image
from aupguard.provenance.images import decode_image
from aupguard.provenance.settings import ProvenanceSettings
from aupguard.provenance.testing import encode, synthetic_image


def _save(img: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **options)  # type: ignore[arg-type]
    return buf.getvalue()


def _gif_animated() -> bytes:
    frames = [Image.fromarray(synthetic_image(96, 96, seed=i)).convert("P") for i in range(3)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:])


CASES = {
    "empty": (b"", "empty"),
    "text": (b"hello, I am not an image", "unsupported_format"),
    "bmp": (_save(Image.new("RGB", (80, 80)), "BMP"), "unsupported_format"),
    "webp": (_save(Image.new("RGB", (80, 80)), "WEBP"), "unsupported_format"),
    "animated gif": (_gif_animated(), "unsupported_format"),
    "truncated jpeg": (encode(synthetic_image(256, 256), "JPEG")[:3000], "broken"),
    "truncated png": (encode(synthetic_image(256, 256), "PNG")[:5000], "broken"),
    "cmyk jpeg": (
        _save(Image.fromarray(synthetic_image(96, 96)).convert("CMYK"), "JPEG"),
        "unsupported_mode",
    ),
    "16-bit png": (
        _save(Image.fromarray(np.arange(96 * 96, dtype=np.uint16).reshape(96, 96) * 7), "PNG"),
        "unsupported_mode",
    ),
    "tiny png": (encode(synthetic_image(40, 40)), "too_small"),
    "jpeg header then garbage": (b"\xff\xd8\xff\xe0" + b"\x00" * 500, "broken"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_images_get_a_clear_error(name: str, settings: ProvenanceSettings) -> None:
    data, code = CASES[name]
    with pytest.raises(ImageInputError) as info:
        decode_image(data)
    assert info.value.code == code, str(info.value)
    assert str(info.value)  # a reason a person can read
    if name != "tiny png":
        with pytest.raises(ImageInputError):
            verify_image(data, settings)


def test_palette_png_is_accepted_as_rgb() -> None:
    img = Image.fromarray(synthetic_image(96, 96)).convert("P")
    decoded = decode_image(_save(img, "PNG"))
    assert decoded.mode == "RGB"
