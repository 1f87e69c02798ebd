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
from typing import Any

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


MAX_REDIRECTS = 3
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_allowed(address: IpAddress) -> bool:
    """Whether an image may be fetched from this address with private URLs off: global
    unicast only (no loopback, private, link-local, multicast, reserved or unspecified
    address), also for IPv4 addresses carried inside IPv6 (mapped, compatible, 6to4, NAT64,
    Teredo)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded: list[ipaddress.IPv4Address] = []
        if address.ipv4_mapped is not None:
            embedded.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            embedded.append(address.sixtofour)
        if address.teredo is not None:
            embedded.append(address.teredo[1])
        if address in _NAT64 or address in _V4_COMPATIBLE:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(not address_allowed(inner) for inner in embedded):
            return False
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def _resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (IP literals in any form inet_aton reads, such as
    `2130706433` or `0177.0.0.1`, resolve to themselves)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%", 1)[0] for info in infos))


def _forbidden(param: str, redirected: bool) -> ApiError:
    where = " (after a redirect)" if redirected else ""
    return ApiError(
        400,
        "image_url_forbidden",
        f"the image URL points at a private or local address{where}; this server fetches "
        "only public addresses (AUPGUARD_ALLOW_PRIVATE_IMAGE_URLS)",
        param=param,
    )


async def _target(
    url: httpx.URL, param: str, *, allow_private: bool, redirected: bool
) -> tuple[httpx.URL, dict[str, str], dict[str, Any]]:
    """The URL to connect to, its headers and extensions. With private URLs off the name is
    resolved once, every address checked, and the connection pinned to the checked address
    (the Host header and TLS server name keep the name), so a second DNS answer cannot
    point it elsewhere (DNS rebinding)."""
    if url.scheme not in ("http", "https") or not url.host:
        where = "redirected to a URL that is not http(s)" if redirected else "must be http(s)"
        raise ApiError(400, "bad_image_url", f"image URLs {where}", param=param)
    if allow_private:
        return url, {}, {}
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with anyio.fail_after(10):  # the whole fetch's limit applies too, around this call
            addresses = await anyio.to_thread.run_sync(
                _resolve, url.host, port, abandon_on_cancel=True
            )
        checked = [ipaddress.ip_address(a) for a in addresses]
    except (OSError, ValueError, UnicodeError, TimeoutError):
        raise ApiError(
            400, "image_fetch_failed", f"cannot resolve {url.host!r}", param=param
        ) from None
    if not checked or not all(address_allowed(a) for a in checked):
        raise _forbidden(param, redirected)
    host_header = url.netloc.decode("ascii").rsplit("@", 1)[-1]
    extensions: dict[str, Any] = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return url.copy_with(host=str(checked[0])), {"Host": host_header}, extensions


async def fetch_image(url: str, settings: Settings, param: str, *, allow_private: bool) -> bytes:
    """GET an image URL within the limits: http(s) only, public addresses only (each
    redirect hop checked again, at most MAX_REDIRECTS), at most max_image_bytes, and
    image_fetch_timeout_s for the whole fetch (resolving, redirects and body together)."""
    if not settings.allow_image_urls:
        raise ApiError(
            400,
            "image_urls_disabled",
            "this server does not fetch image URLs (AUPGUARD_ALLOW_IMAGE_URLS=false); "
            "send the image as a data URL",
            param=param,
        )
    try:
        current = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise ApiError(
            400, "bad_image_url", "image URLs must be http(s) URLs", param=param
        ) from None
    if current.scheme not in ("http", "https") or not current.host:
        raise ApiError(400, "bad_image_url", "image URLs must be http(s) URLs", param=param)
    timeout = settings.image_fetch_timeout_s
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                for hop in range(MAX_REDIRECTS + 1):
                    target, headers, extensions = await _target(
                        current, param, allow_private=allow_private, redirected=hop > 0
                    )
                    request = client.build_request(
                        "GET", target, headers=headers, extensions=extensions
                    )
                    response = await client.send(request, stream=True)
                    try:
                        location = response.headers.get("location")
                        if response.is_redirect and location:
                            current = current.join(location)
                            continue
                        return await _read_body(response, settings.max_image_bytes, param)
                    finally:
                        await response.aclose()
                raise ApiError(
                    400,
                    "image_fetch_failed",
                    f"fetching the image redirected more than {MAX_REDIRECTS} times",
                    param=param,
                )
    except (TimeoutError, httpx.TimeoutException):
        raise ApiError(
            400,
            "image_fetch_timeout",
            f"fetching the image took longer than {timeout:g}s",
            param=param,
        ) from None
    except httpx.HTTPError as exc:
        raise ApiError(
            400,
            "image_fetch_failed",
            f"fetching the image failed: {type(exc).__name__}",
            param=param,
        ) from None


async def _read_body(response: httpx.Response, limit: int, param: str) -> bytes:
    if response.status_code != 200:
        raise ApiError(
            400,
            "image_fetch_failed",
            f"fetching the image answered HTTP {response.status_code}",
            param=param,
        )
    too_large = ApiError(
        413,
        "image_too_large",
        f"the image is larger than {limit:,} bytes (AUPGUARD_MAX_IMAGE_BYTES)",
        param=param,
    )
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


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
    """The media type an image's magic bytes announce (``images.decode.sniff_format``)."""
    from aupguard.images.decode import sniff_format
    from aupguard.images.errors import ImageInputError

    try:
        return "image/" + sniff_format(data).lower()
    except ImageInputError:
        return "application/octet-stream"
