"""Safe decoding of untrusted image bytes.

Order matters: the byte limit, the format sniff and the declared dimensions are checked before
any pixel is decoded, so an oversize file or a decompression bomb costs a header read. Every
failure becomes an :class:`ImageInputError` with a machine-readable code and a message that
says what was wrong; no Pillow exception or traceback escapes.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
from PIL import Image

from aupguard.images.errors import ImageInputError
from aupguard.images.limits import ImageLimits
from aupguard.images.metadata import ImageMetadata, StoredFormat, clean_copy, read_metadata
from aupguard.images.pdq import PdqHash, pdq_hash

SUPPORTED_FORMATS: Final = ("PNG", "JPEG", "WEBP", "GIF")

# Signatures of things that should never ride inside an image: an appended archive,
# executable or script turns an innocent-looking upload into a carrier (a "polyglot").
_PAYLOAD_SIGNATURES: Final = {
    b"PK\x03\x04": "zip archive",
    b"MZ": "Windows executable",
    b"\x7fELF": "ELF executable",
    b"%PDF": "PDF document",
    b"<script": "HTML script",
    b"<?php": "PHP script",
    b"#!/": "shell script",
    b"Rar!": "RAR archive",
    b"7z\xbc\xaf": "7-Zip archive",
}
_TRAILING_SLACK = 16
# EXIF orientation -> the transpose that shows the image upright (as Pillow's exif_transpose)
_ORIENTATION_TRANSPOSE: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}  # a few padding bytes after the end marker are common and harmless


@dataclass(frozen=True, slots=True)
class TrailingData:
    """Bytes after the image's end marker, and what they look like."""

    size: int
    payloads: tuple[str, ...]


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image: 8-bit RGB pixels with EXIF orientation applied (first frame of an
    animation), plus what the file said about itself."""

    image: Image.Image
    format: str
    width: int
    height: int
    original_mode: str
    frame_count: int
    byte_size: int
    sha256: str
    metadata: ImageMetadata
    had_alpha: bool
    trailing: TrailingData | None = None

    @cached_property
    def pixels(self) -> np.ndarray:
        """An (H, W, 3) uint8 array of the pixels (computed once, shared by detectors)."""
        return np.asarray(self.image, dtype=np.uint8)

    @cached_property
    def pdq(self) -> PdqHash:
        """The PDQ perceptual hash of the upright image (computed once)."""
        return pdq_hash(self.image)

    def clean_copy(self, fmt: StoredFormat = "PNG") -> bytes:
        """The pixels re-encoded without any metadata (what to store)."""
        return clean_copy(self.image, fmt)


def sniff_format(data: bytes) -> str:
    """The container format from the file's magic bytes (not its name or declared type)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        raise ImageInputError(
            "HEIC/HEIF/AVIF images are not supported (no packaged decoder is installed); "
            "convert the image to PNG, JPEG or WebP",
            code="unsupported_format",
        )
    raise ImageInputError(
        "the data is not a supported image (PNG, JPEG, WebP or GIF, recognised by content, "
        "not by file name)",
        code="unsupported_format",
    )


def decode_image(data: bytes, limits: ImageLimits | None = None) -> DecodedImage:
    """Decode untrusted bytes into a :class:`DecodedImage`, or raise :class:`ImageInputError`."""
    limits = limits or ImageLimits()
    if not data:
        raise ImageInputError("the image is empty (0 bytes)", code="empty_input")
    if len(data) > limits.max_bytes:
        raise ImageInputError(
            f"the image is {len(data):,} bytes; the limit is {limits.max_bytes:,} "
            "(set AUPGUARD_IMAGE_MAX_BYTES to change it)",
            code="input_too_large",
        )
    fmt = sniff_format(data)
    with warnings.catch_warnings():
        # Pillow warns (DecompressionBombWarning) and raises past 2x its own global limit; our
        # own limits below are checked first and are the ones that apply
        warnings.simplefilter("ignore")
        try:
            image = Image.open(io.BytesIO(data), formats=[fmt])
        except Image.DecompressionBombError as exc:
            raise ImageInputError(
                f"the {fmt} declares too many pixels ({exc}); refused before decoding",
                code="image_too_large",
            ) from None
        except Exception as exc:  # Pillow raises many types for a broken header
            raise ImageInputError(
                f"the {fmt} header is malformed and cannot be read ({_reason(exc)})",
                code="malformed_image",
            ) from None
        _check_dimensions(image, fmt, limits)
        frame_count = _frame_count(image, fmt, limits)
        original_mode = image.mode
        try:
            image.seek(0)
            image.load()
        except Exception as exc:
            raise _decode_failure(fmt, exc) from None
        # after the pixels: reading PNG EXIF loads the image, and must not mask a broken one
        metadata = _metadata(image)
        rgb, had_alpha = _to_rgb(image)
    if metadata.orientation != 1:
        rgb = rgb.transpose(_ORIENTATION_TRANSPOSE[metadata.orientation])
    return DecodedImage(
        image=rgb,
        format=fmt,
        width=rgb.width,
        height=rgb.height,
        original_mode=original_mode,
        frame_count=frame_count,
        byte_size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        metadata=metadata,
        had_alpha=had_alpha,
        trailing=_trailing_data(data, fmt),
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _check_dimensions(image: Image.Image, fmt: str, limits: ImageLimits) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageInputError(
            f"the {fmt} declares an empty size {width}x{height}", code="malformed_image"
        )
    if max(width, height) > limits.max_side:
        raise ImageInputError(
            f"the {fmt} is {width}x{height}; the longest side may be {limits.max_side:,} "
            "pixels (set AUPGUARD_IMAGE_MAX_SIDE to change it)",
            code="image_too_large",
        )
    if width * height > limits.max_pixels:
        raise ImageInputError(
            f"the {fmt} declares {width}x{height} = {width * height:,} pixels; the limit is "
            f"{limits.max_pixels:,} (a decompression bomb is refused before decoding; set "
            "AUPGUARD_IMAGE_MAX_PIXELS to change it)",
            code="image_too_large",
        )


def _frame_count(image: Image.Image, fmt: str, limits: ImageLimits) -> int:
    try:
        count = int(getattr(image, "n_frames", 1))
    except Exception as exc:
        raise _decode_failure(fmt, exc) from None
    if count > limits.max_frames:
        raise ImageInputError(
            f"the {fmt} has {count:,} frames; the limit is {limits.max_frames:,} "
            "(set AUPGUARD_IMAGE_MAX_FRAMES to change it)",
            code="too_many_frames",
        )
    return count


def _metadata(image: Image.Image) -> ImageMetadata:
    try:
        return read_metadata(image)
    except Exception:
        # broken EXIF must not make an otherwise readable image unusable; it counts as absent
        return ImageMetadata()


def _decode_failure(fmt: str, exc: BaseException) -> ImageInputError:
    reason = _reason(exc)
    if isinstance(exc, EOFError) or "truncated" in reason.lower():
        return ImageInputError(
            f"the {fmt} is truncated: the file ends before its pixel data does ({reason})",
            code="truncated_image",
        )
    if isinstance(exc, MemoryError):
        return ImageInputError(
            f"the {fmt} needs more memory to decode than is available", code="image_too_large"
        )
    if isinstance(exc, zlib.error | struct.error | SyntaxError | ValueError | OSError):
        return ImageInputError(
            f"the {fmt} is malformed and cannot be decoded ({reason})", code="malformed_image"
        )
    return ImageInputError(
        f"the {fmt} could not be decoded ({type(exc).__name__}: {reason})",
        code="malformed_image",
    )


def _to_rgb(image: Image.Image) -> tuple[Image.Image, bool]:
    """8-bit RGB whatever the source mode: palette, CMYK, 16-bit, float, alpha (composited
    over white, so transparent regions do not turn black and hide or invent content)."""
    mode = image.mode
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or array.max(initial=0) > 255 else 255.0
        image = Image.fromarray(np.clip(array * 255.0 / peak, 0, 255).astype(np.uint8), "L")
    elif mode == "F":
        array = np.asarray(image, dtype=np.float64)
        peak = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        image = Image.fromarray(np.clip(array * 255.0 / peak, 0, 255).astype(np.uint8), "L")
    had_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La")
    if had_alpha:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("RGB"), had_alpha


def _trailing_data(data: bytes, fmt: str) -> TrailingData | None:
    end = _end_offset(data, fmt)
    if end is None or len(data) - end <= _TRAILING_SLACK:
        return None
    tail = data[end:]
    found = tuple(
        name
        for signature, name in _PAYLOAD_SIGNATURES.items()
        if (tail.startswith(signature) if signature == b"MZ" else signature in tail)
    )
    return TrailingData(size=len(tail), payloads=found)


def _end_offset(data: bytes, fmt: str) -> int | None:
    """Where the image proper ends (after PNG's IEND, JPEG's last EOI, WebP's RIFF size)."""
    if fmt == "PNG":
        pos = 8
        while pos + 8 <= len(data):
            length = int.from_bytes(data[pos : pos + 4], "big")
            kind = data[pos + 4 : pos + 8]
            pos += 12 + length
            if kind == b"IEND":
                return pos
        return None
    if fmt == "JPEG":
        pos = data.rfind(b"\xff\xd9")
        return pos + 2 if pos >= 0 else None
    if fmt == "WEBP":
        size = int.from_bytes(data[4:8], "little")
        return 8 + size + (size & 1)
    return None  # GIF: the trailer byte 0x3B is too common to locate the end reliably
