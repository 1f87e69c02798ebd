"""Image inputs: data URLs and http(s) URLs turned into bounded bytes, then checked by the
image moderation when it is installed. Limits: encoded bytes, pixel count (decompression
bombs, read from the header before anything is decoded), fetch timeout, private addresses."""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import socket
import warnings
from urllib.parse import urlsplit

import anyio
import httpx

from aupguard.api.errors import ApiError
from aupguard.api.settings import Settings

IMAGE_MODERATION_MISSING = (
    "image moderation is not installed on this server (install aupguard with the `images` "
    "extra); images are never let through unchecked"
)


def image_moderation_missing(param: str | None = None) -> ApiError:
    return ApiError(501, "image_moderation_unavailable", IMAGE_MODERATION_MISSING, param=param)


def decode_data_url(url: str, max_bytes: int, param: str) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:"):
        raise ApiError(400, "bad_image_url", "the data URL has no `,` payload", param=param)
    if not header.endswith(";base64"):
        raise ApiError(400, "bad_image_url", "only base64 data URLs are accepted", param=param)
    if len(payload) > (max_bytes * 4) // 3 + 4:
        raise ApiError(
            413,
            "image_too_large",
            f"the image is larger than {max_bytes:,} bytes (AUPGUARD_MAX_IMAGE_BYTES)",
            param=param,
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            400, "bad_image_url", "the data URL's payload is not valid base64", param=param
        ) from None


def _is_public(host: str) -> bool:
    infos = socket.getaddrinfo(host, None)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return False
    return bool(infos)


async def fetch_image(url: str, settings: Settings, param: str, *, allow_private: bool) -> bytes:
    if not settings.allow_image_urls:
        raise ApiError(
            400,
            "image_urls_disabled",
            "this server does not fetch image URLs (AUPGUARD_ALLOW_IMAGE_URLS=false); "
            "send the image as a data URL",
            param=param,
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(400, "bad_image_url", "image URLs must be http(s) URLs", param=param)
    if not allow_private:
        try:
            public = await anyio.to_thread.run_sync(_is_public, parts.hostname)
        except (OSError, ValueError):
            raise ApiError(
                400, "image_fetch_failed", f"cannot resolve {parts.hostname!r}", param=param
            ) from None
        if not public:
            raise ApiError(
                400,
                "image_url_forbidden",
                "the image URL points at a private or local address",
                param=param,
            )
    limit = settings.max_image_bytes
    try:
        async with (
            httpx.AsyncClient(timeout=settings.image_fetch_timeout_s) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise ApiError(
                    400,
                    "image_fetch_failed",
                    f"fetching the image answered HTTP {response.status_code}",
                    param=param,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ApiError(
                        413,
                        "image_too_large",
                        f"the image is larger than {limit:,} bytes (AUPGUARD_MAX_IMAGE_BYTES)",
                        param=param,
                    )
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.TimeoutException:
        raise ApiError(
            400,
            "image_fetch_timeout",
            f"fetching the image took longer than {settings.image_fetch_timeout_s:g}s",
            param=param,
        ) from None
    except httpx.HTTPError as exc:
        raise ApiError(
            400,
            "image_fetch_failed",
            f"fetching the image failed: {type(exc).__name__}",
            param=param,
        ) from None


def check_image_header(data: bytes, settings: Settings, param: str) -> tuple[str, int, int]:
    """The format and size from the header only (no pixel decoding): refuses non-images and
    decompression bombs before any detector decodes them."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > settings.max_image_bytes:
        raise ApiError(
            413,
            "image_too_large",
            f"the image is {len(data):,} bytes; the limit is {settings.max_image_bytes:,}",
            param=param,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                fmt = image.format or "unknown"
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ApiError(
            400,
            "bad_image",
            "the image cannot be read (not a PNG, JPEG, WebP or GIF?)",
            param=param,
        ) from None
    if width * height > settings.max_image_pixels:
        raise ApiError(
            413,
            "image_too_many_pixels",
            f"the image is {width}x{height} = {width * height:,} pixels; the limit is "
            f"{settings.max_image_pixels:,} (AUPGUARD_MAX_IMAGE_PIXELS)",
            param=param,
        )
    return fmt, width, height


async def load_image(
    url: str, settings: Settings, param: str, *, allow_private: bool = False
) -> bytes:
    if url.startswith("data:"):
        data = decode_data_url(url, settings.max_image_bytes, param)
    else:
        data = await fetch_image(url, settings, param, allow_private=allow_private)
    check_image_header(data, settings, param)
    return data


def media_type_of(data: bytes) -> str:
    """The media type an image's magic bytes announce."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:4] == b"GIF8":
        return "image/gif"
    return "application/octet-stream"
