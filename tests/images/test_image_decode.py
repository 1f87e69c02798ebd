"""Safe decoding: formats, limits before decoding, every malformed-file case, colour modes,
orientation, metadata and the stored copy without it."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from aupguard.errors import InputError
from aupguard.images import ImageInputError, ImageLimits, decode_image
from aupguard.images.decode import sniff_format
from conftest import encode, shapes


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_each_supported_format_decodes_to_rgb(fmt: str) -> None:
    data = encode(shapes(1, (300, 200)), fmt)
    decoded = decode_image(data)
    assert decoded.format == fmt
    assert (decoded.width, decoded.height) == (300, 200)
    assert decoded.image.mode == "RGB"
    assert decoded.pixels.shape == (200, 300, 3)
    assert decoded.frame_count == 1
    assert len(decoded.sha256) == 64 and decoded.byte_size == len(data)


def test_gif_animation_first_frame_and_frame_count() -> None:
    frames = [Image.new("RGB", (64, 64), colour) for colour in ("red", "green", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    decoded = decode_image(buf.getvalue())
    assert decoded.frame_count == 3
    r, g, b = decoded.pixels[32, 32]
    assert r > 200 and g < 50 and b < 50  # the first frame (red), not a later one


def test_animated_webp_frame_count() -> None:
    frames = [Image.new("RGB", (32, 32), c) for c in ("red", "blue")]
    buf = io.BytesIO()
    frames[0].save(buf, format="WEBP", save_all=True, append_images=frames[1:], lossless=True)
    assert decode_image(buf.getvalue()).frame_count == 2


def _code(data: bytes, limits: ImageLimits | None = None) -> str:
    with pytest.raises(ImageInputError) as info:
        decode_image(data, limits)
    assert str(info.value)  # always a message in words
    assert isinstance(info.value, InputError)
    return info.value.code


def test_empty_and_oversize_bytes() -> None:
    assert _code(b"") == "empty_input"
    data = encode(shapes(2, (64, 64)))
    assert _code(data, ImageLimits(max_bytes=len(data) - 1)) == "input_too_large"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"hello, this is text", "not a supported image"),
        (b"%PDF-1.4 not an image", "not a supported image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "HEIC"),
        (b"BM" + b"\x00" * 60, "not a supported image"),  # BMP is not accepted
    ],
)
def test_unsupported_formats_are_named(data: bytes, needle: str) -> None:
    with pytest.raises(ImageInputError, match=needle) as info:
        decode_image(data)
    assert info.value.code == "unsupported_format"


def _png_with_size(width: int, height: int) -> bytes:
    """A PNG whose header declares a huge size but whose data is tiny (a decompression bomb
    shape): refused from the header, without decoding."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = lambda kind, body: (  # noqa: E731
        struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    )
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_refused_before_decoding() -> None:
    with pytest.raises(ImageInputError, match="decompression bomb") as info:
        decode_image(_png_with_size(15_000, 15_000))
    assert info.value.code == "image_too_large"


def test_real_bomb_compressed_zeros_is_refused() -> None:
    # a genuine bomb: 10000x10000 of zeros compresses to ~100 KB
    image = Image.new("L", (10_000, 10_000), 0)
    data = encode(image, "PNG", optimize=False)
    assert len(data) < 500_000
    assert _code(data, ImageLimits(max_pixels=20_000_000)) == "image_too_large"


def test_longest_side_limit() -> None:
    assert _code(_png_with_size(20_000, 10), ImageLimits(max_side=16_384)) == "image_too_large"


def test_too_many_frames() -> None:
    frames = [Image.new("RGB", (8, 8), (i * 40, 0, 0)) for i in range(5)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    assert _code(buf.getvalue(), ImageLimits(max_frames=3)) == "too_many_frames"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_files(fmt: str) -> None:
    data = encode(shapes(3, (400, 400)), fmt)
    code = _code(data[: len(data) // 2])
    assert code in ("truncated_image", "malformed_image")


def test_truncated_png_says_truncated() -> None:
    data = encode(shapes(3, (400, 400)), "PNG")
    with pytest.raises(ImageInputError, match="truncated") as info:
        decode_image(data[: len(data) // 2])
    assert info.value.code == "truncated_image"


def test_header_only_and_corrupt_bodies() -> None:
    png = encode(shapes(4, (100, 100)), "PNG")
    assert _code(png[:8]) == "malformed_image"  # signature, nothing else
    corrupt = bytearray(png)
    idat = corrupt.find(b"IDAT")
    corrupt[idat + 4 : idat + 6] = b"\xff\xff"  # an impossible zlib stream header
    assert _code(bytes(corrupt)) in ("malformed_image", "truncated_image")
    assert _code(b"\xff\xd8\xff\xe0" + b"\x00" * 20) in ("malformed_image", "truncated_image")
    assert _code(b"GIF89a" + b"\x00" * 3) in ("malformed_image", "truncated_image")
    assert _code(b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 4) in (
        "malformed_image",
        "truncated_image",
    )


def test_zero_size_png_header() -> None:
    assert _code(_png_with_size(0, 10)) == "malformed_image"


def test_format_is_sniffed_from_content_not_name() -> None:
    assert sniff_format(encode(shapes(1, (10, 10)), "JPEG")) == "JPEG"
    assert sniff_format(encode(shapes(1, (10, 10)), "WEBP")) == "WEBP"


def test_colour_modes_are_normalised() -> None:
    cmyk = Image.new("CMYK", (20, 20), (0, 255, 255, 0))  # red in CMYK
    decoded = decode_image(encode(cmyk, "JPEG"))
    r, g, b = decoded.pixels[10, 10]
    assert decoded.original_mode == "CMYK" and r > 200 and g < 60 and b < 60

    sixteen = Image.fromarray(np.full((20, 20), 65535 // 2, dtype=np.uint16))
    decoded = decode_image(encode(sixteen, "PNG"))
    assert decoded.original_mode.startswith("I")
    assert 120 <= int(decoded.pixels[5, 5, 0]) <= 135  # mid-grey, not clipped to white

    palette = shapes(5, (40, 40)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    assert decode_image(encode(palette, "PNG")).image.mode == "RGB"

    transparent = Image.new("RGBA", (20, 20), (0, 0, 0, 0))  # fully transparent black
    decoded = decode_image(encode(transparent, "PNG"))
    assert decoded.had_alpha
    assert decoded.pixels[10, 10].tolist() == [255, 255, 255]  # composited over white

    grey = Image.new("L", (20, 20), 77)
    assert decode_image(encode(grey, "PNG")).pixels[0, 0].tolist() == [77, 77, 77]


def test_exif_orientation_is_applied() -> None:
    # a wide image whose left half is red; orientation 6 = rotate 90 degrees clockwise to view
    image = Image.new("RGB", (200, 100), "blue")
    image.paste(Image.new("RGB", (100, 100), "red"), (0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    decoded = decode_image(encode(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert (decoded.width, decoded.height) == (100, 200)
    assert decoded.metadata.orientation == 6
    top = decoded.pixels[20, 50]
    assert top[0] > 180 and top[2] < 80  # the red half is now on top


def _exif_with_personal_data() -> bytes:
    exif = Image.Exif()
    exif[0x013B] = "Jane Example"  # Artist
    exif[0x010F] = "ExampleCam"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 0.0)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 0.0)
    sub = exif.get_ifd(0x8769)
    sub[0xA431] = "SN-123456"  # BodySerialNumber
    return exif.tobytes()


def test_personal_metadata_is_reported_without_values() -> None:
    data = encode(shapes(6, (64, 64)), "JPEG", exif=_exif_with_personal_data())
    metadata = decode_image(data).metadata
    assert metadata.gps and "artist" in metadata.names and "body_serial" in metadata.serials
    assert "gps" in metadata.personal
    assert "Jane" not in metadata.model_dump_json()  # kinds only, never the values


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_stored_copy_has_no_metadata_when_reread(fmt: str) -> None:
    data = encode(shapes(6, (64, 64)), "JPEG", exif=_exif_with_personal_data())
    stored = decode_image(data).clean_copy(fmt)  # type: ignore[arg-type]
    reread = Image.open(io.BytesIO(stored))
    assert not reread.getexif()
    assert b"Jane Example" not in stored and b"SN-123456" not in stored
    assert not decode_image(stored).metadata.personal


def test_png_text_and_xmp_are_noted_and_stripped() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Jane Example")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta><dc:creator>Jane</dc:creator></x:xmpmeta>")
    data = encode(shapes(7, (64, 64)), "PNG", pnginfo=info)
    decoded = decode_image(data)
    assert decoded.metadata.xmp and "Author" in decoded.metadata.text_chunks
    assert b"Jane" not in decoded.clean_copy("PNG")


def test_trailing_payload_is_found() -> None:
    png = encode(shapes(8, (64, 64)), "PNG")
    decoded = decode_image(png + b"PK\x03\x04" + b"\x00" * 200)
    assert decoded.trailing is not None and "zip archive" in decoded.trailing.payloads
    assert decode_image(png).trailing is None


def test_limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUPGUARD_IMAGE_MAX_PIXELS", "100")
    assert ImageLimits.from_env().max_pixels == 100
    monkeypatch.setenv("AUPGUARD_IMAGE_MAX_BYTES", "lots")
    with pytest.raises(ImageInputError, match="AUPGUARD_IMAGE_MAX_BYTES") as info:
        ImageLimits.from_env()
    assert info.value.code == "bad_setting"
