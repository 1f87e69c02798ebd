"""Reading and writing the images the provenance layer marks: JPEG and PNG in 8-bit greyscale,
RGB or RGBA. Everything else is refused with a reason, never guessed at."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from aupguard.provenance.errors import ImageInputError, MissingExtraError

if TYPE_CHECKING:
    from PIL import Image as PILImage

MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 6300 x 6300
MIN_SIDE = 64  # smaller images cannot carry the watermark reliably


class ImageFormat(StrEnum):
    JPEG = "JPEG"
    PNG = "PNG"

    @property
    def mime(self) -> str:
        return {ImageFormat.JPEG: "image/jpeg", ImageFormat.PNG: "image/png"}[self]


_SUPPORTED_MODES = {"L", "RGB", "RGBA"}
# modes Pillow reports for inputs we refuse, with the reason given to the caller
_MODE_REASONS = {
    "CMYK": "CMYK images are not supported; convert to RGB first",
    "I;16": "16-bit images are not supported; convert to 8 bits per channel first",
    "I;16B": "16-bit images are not supported; convert to 8 bits per channel first",
    "I;16L": "16-bit images are not supported; convert to 8 bits per channel first",
    "I": "16/32-bit integer images are not supported; convert to 8 bits per channel first",
    "F": "floating-point images are not supported; convert to 8 bits per channel first",
}


def _pil() -> type[PILImage.Image]:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - the extra pins Pillow
        raise MissingExtraError("Pillow") from exc
    return Image.Image


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image and what it was: ``pixels`` is uint8 HxW (L) or HxWxC (RGB/RGBA)."""

    format: ImageFormat
    mode: str
    pixels: npt.NDArray[np.uint8]
    info: dict[str, object]

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def sniff_format(data: bytes) -> ImageFormat:
    """The container, from its magic bytes (the name of a file proves nothing)."""
    if data.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        raise ImageInputError(
            "GIF images are not supported (provenance covers JPEG and PNG outputs)",
            code="unsupported_format",
        )
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        raise ImageInputError(
            "WebP images are not supported (provenance covers JPEG and PNG outputs)",
            code="unsupported_format",
        )
    raise ImageInputError(
        "not a JPEG or PNG image (unrecognised file signature)", code="unsupported_format"
    )


def decode_image(data: bytes, *, min_side: int = MIN_SIDE) -> DecodedImage:
    """Decode fully (so truncation is caught here, not later) and check what we can handle."""
    if not data:
        raise ImageInputError("the image is empty (0 bytes)", code="empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageInputError(
            f"the image is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}", code="too_large"
        )
    fmt = sniff_format(data)
    _pil()
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: PILImage.Image = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise ImageInputError(
                    f"the image is {img.width}x{img.height} pixels; the limit is "
                    f"{MAX_PIXELS} pixels",
                    code="too_large",
                )
            if int(getattr(img, "n_frames", 1)) > 1:
                raise ImageInputError(
                    f"animated {fmt.value} images ({getattr(img, 'n_frames', 0)} frames) are not supported",
                    code="animated",
                )
            reason = _MODE_REASONS.get(img.mode)
            if reason is not None:
                raise ImageInputError(reason, code="unsupported_mode")
            img.load()
    except ImageInputError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ImageInputError(
            f"the {fmt.value} image is broken or truncated: {exc}", code="broken"
        ) from exc
    info: dict[str, object] = {str(k): v for k, v in img.info.items()}
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif img.mode == "LA":
        img = img.convert("RGBA")
    elif img.mode == "1":
        img = img.convert("L")
    if img.mode not in _SUPPORTED_MODES:
        raise ImageInputError(f"image mode {img.mode} is not supported", code="unsupported_mode")
    if min(img.width, img.height) < min_side:
        raise ImageInputError(
            f"the image is {img.width}x{img.height}; both sides must be at least {min_side} "
            "pixels to carry a watermark",
            code="too_small",
        )
    pixels = np.asarray(img, dtype=np.uint8)
    return DecodedImage(format=fmt, mode=img.mode, pixels=pixels, info=info)


def encode_image(
    pixels: npt.NDArray[np.uint8],
    fmt: ImageFormat,
    *,
    xmp: bytes | None = None,
    jpeg_quality: int = 95,
    icc_profile: bytes | None = None,
) -> bytes:
    """Encode pixels as JPEG or PNG, with an XMP packet when given. JPEG cannot hold alpha,
    so RGBA is composited on white first (PNG keeps it)."""
    _pil()
    from PIL import Image, PngImagePlugin

    img = Image.fromarray(pixels)
    out = io.BytesIO()
    if fmt is ImageFormat.JPEG:
        if img.mode == "RGBA":
            background = Image.new("RGB", img.size, (255, 255, 255))
            background.paste(img, mask=img.getchannel("A"))
            img = background
        kwargs: dict[str, object] = {"quality": jpeg_quality}
        if xmp is not None:
            kwargs["xmp"] = xmp
        if icc_profile:
            kwargs["icc_profile"] = icc_profile
        img.save(out, "JPEG", **kwargs)
    else:
        pnginfo = PngImagePlugin.PngInfo()
        if xmp is not None:
            pnginfo.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        png_kwargs: dict[str, object] = {"pnginfo": pnginfo, "compress_level": 1}
        if icc_profile:
            png_kwargs["icc_profile"] = icc_profile
        img.save(out, "PNG", **png_kwargs)
    return out.getvalue()


def luminance(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """BT.601 luma of RGB/RGBA (alpha ignored) or the grey itself."""
    if pixels.ndim == 2:
        return pixels.astype(np.float32)
    rgb = pixels[..., :3].astype(np.float32)
    luma: npt.NDArray[np.float32] = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    return luma
