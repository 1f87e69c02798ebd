"""Personal metadata in image files (EXIF, XMP, text chunks) and a clean copy without it.

Uploads often carry where a photo was taken (GPS), the camera's serial number and the owner's
name. The moderator reports their presence as a ``privacy`` signal on uploads; stored copies
are re-encoded from pixels only, so none of it is kept. The values themselves are never echoed
(only which kinds were found), so a report does not spread the personal data it warns about.
"""

from __future__ import annotations

import io
from typing import Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict

# EXIF tags that identify a place, a device or a person.
_GPS_IFD = 0x8825
_EXIF_IFD = 0x8769
_PERSONAL_TAGS = {
    0x013B: "artist",
    0x8298: "copyright",
    0x9C9D: "author",  # XPAuthor
    0x9C9C: "comment",  # XPComment
    0x010E: "description",
    0xA430: "camera_owner",
}
_SERIAL_TAGS = {
    0xA431: "body_serial",
    0xA435: "lens_serial",
    0xC62F: "camera_serial",
}
_DEVICE_TAGS = {0x010F: "make", 0x0110: "model"}
_XMP_KEYS = ("xmp", "XML:com.adobe.xmp")


class ImageMetadata(BaseModel):
    """Which kinds of metadata the file carried (never their values)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    has_exif: bool = False
    gps: bool = False
    serials: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    xmp: bool = False
    text_chunks: tuple[str, ...] = ()
    orientation: int = 1

    @property
    def personal(self) -> tuple[str, ...]:
        """The kinds of personal data found: ``gps``, serial and name fields, XMP packets."""
        found: list[str] = []
        if self.gps:
            found.append("gps")
        found += self.serials
        found += self.names
        if self.xmp:
            found.append("xmp")
        return tuple(found)


def read_metadata(image: Image.Image) -> ImageMetadata:
    exif = image.getexif()
    gps = False
    serials: list[str] = []
    names: list[str] = []
    device: list[str] = []
    if exif:
        gps = bool(exif.get_ifd(_GPS_IFD))
        sub = exif.get_ifd(_EXIF_IFD)
        tags = {**dict(exif.items()), **dict(sub.items())}
        serials = [n for tag, n in _SERIAL_TAGS.items() if _present(tags.get(tag))]
        names = [n for tag, n in _PERSONAL_TAGS.items() if _present(tags.get(tag))]
        device = [n for tag, n in _DEVICE_TAGS.items() if _present(tags.get(tag))]
    info_keys = [k for k in image.info if isinstance(k, str)]
    xmp = any(_present(image.info.get(k)) for k in _XMP_KEYS)
    # PNG tEXt/iTXt chunks and similar free text (a comment can hold a name or an address)
    text_chunks = sorted(
        k
        for k in info_keys
        if k not in _XMP_KEYS
        and isinstance(image.info[k], str | bytes)
        and k not in ("icc_profile", "exif", "transparency", "dpi", "gamma", "background")
    )
    orientation = exif.get(0x0112, 1) if exif else 1
    return ImageMetadata(
        has_exif=bool(exif),
        gps=gps,
        serials=tuple(serials),
        names=tuple(names),
        device=tuple(device),
        xmp=xmp,
        text_chunks=tuple(text_chunks),
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1,
    )


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        return bool(value.strip(b"\x00 "))
    if isinstance(value, str):
        return bool(value.strip("\x00 "))
    return True


StoredFormat = Literal["PNG", "JPEG", "WEBP"]


def clean_copy(image: Image.Image, fmt: StoredFormat = "PNG", *, quality: int = 90) -> bytes:
    """The image re-encoded from its pixels alone: no EXIF, XMP, ICC or text chunks, so no GPS
    position, serial number or name survives into a stored copy. Orientation is already
    applied to the pixels by the decoder, so dropping the orientation tag loses nothing."""
    pixels = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    if fmt == "PNG":
        pixels.save(out, format="PNG", optimize=False)
    else:
        pixels.save(out, format=fmt, quality=quality)
    return out.getvalue()
