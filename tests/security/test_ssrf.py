"""SSRF protection of image URLs (`aupguard.api.images`): a real local HTTP server on
127.0.0.1 holds an image; every way of pointing the service at a loopback, private, link-local,
multicast or reserved address is refused with a clear 400 before anything is fetched, unless
AUPGUARD_ALLOW_PRIVATE_IMAGE_URLS is on; size and total-time limits hold."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from secutil import KEY_ALICE, PNG, LocalImageServer, settings_for

from aupguard.api import images
from aupguard.api.app import create_app
from aupguard.api.errors import ApiError
from aupguard.api.settings import Settings
from aupguard.engine.decide import decide
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality
from aupguard.policy.registry import default_registry

# hosts that must never be fetched with the default settings (the port is the test server's)
FORBIDDEN_HOSTS = [
    "127.0.0.1",  # loopback
    "127.8.9.10",  # all of 127/8 is loopback
    "localhost",  # a DNS name resolving to loopback
    "0.0.0.0",  # "this host": Linux connects it to loopback
    "2130706433",  # 127.0.0.1 as one decimal number
    "0177.0.0.1",  # octal
    "0x7f.0.0.1",  # hexadecimal
    "127.1",  # short form
    "[::1]",  # IPv6 loopback
    "[::]",  # IPv6 unspecified
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6 loopback
    "[::ffff:7f00:1]",  # the same, hex
    "[::ffff:10.1.2.3]",  # IPv4-mapped private
    "[64:ff9b::7f00:1]",  # NAT64 of loopback
    "[2002:7f00:1::]",  # 6to4 of loopback
    "[::127.0.0.1]",  # IPv4-compatible loopback (deprecated form)
    "10.0.0.1",  # private
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",  # carrier-grade NAT
    "169.254.169.254",  # link-local: cloud metadata
    "[fe80::1]",  # IPv6 link-local
    "[fc00::1]",  # IPv6 unique local
    "[fec0::1]",  # IPv6 site-local (deprecated)
    "224.0.0.1",  # multicast
    "239.255.255.250",
    "[ff02::1]",  # IPv6 multicast
    "240.0.0.1",  # reserved
    "255.255.255.255",  # broadcast
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
]


def run_load(url: str, settings: Settings, *, allow_private: bool = False) -> bytes:
    async def go() -> bytes:
        return await images.load_image(url, settings, "image", allow_private=allow_private)

    return anyio.run(go)


def refused(url: str, settings: Settings, *, allow_private: bool = False) -> ApiError:
    with pytest.raises(ApiError) as caught:
        run_load(url, settings, allow_private=allow_private)
    return caught.value


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, image_fetch_timeout_s=1.5, max_image_bytes=100_000)


@pytest.mark.parametrize("host", FORBIDDEN_HOSTS)
def test_private_and_special_addresses_are_refused(
    host: str, settings: Settings, image_server: LocalImageServer
) -> None:
    before = len(image_server.hits)
    error = refused(image_server.url("/img.png", host), settings)
    if host == "0177.0.0.1":  # httpx's URL parser rejects leading-zero octets outright
        assert (error.status, error.code) == (400, "bad_image_url"), error.message
    else:
        assert (error.status, error.code) == (400, "image_url_forbidden"), error.message
        assert "private or local address" in error.message
    assert len(image_server.hits) == before  # refused before any connection


def test_loopback_is_fetched_with_the_setting_on(
    settings: Settings, image_server: LocalImageServer
) -> None:
    assert run_load(image_server.url("/img.png"), settings, allow_private=True) == PNG
    assert run_load(image_server.url("/img.png", "localhost"), settings, allow_private=True) == PNG


FakeResolver = Callable[..., list[Any]]


def fake_dns(answers: dict[str, list[str]], real: FakeResolver) -> FakeResolver:
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else host
        if name in answers:
            addresses = answers[name]
            if len(addresses) > 1 and name.startswith("rebind"):
                addresses = [addresses.pop(0)]  # a different answer every time
            out = []
            for address in addresses:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                out.append((family, socket.SOCK_STREAM, 6, "", (address, args[0] or 0)))
            return out
        return real(host, *args, **kwargs)

    return getaddrinfo


@pytest.mark.parametrize(
    "addresses",
    [["10.20.30.40"], ["93.184.215.14", "192.168.0.7"], ["fd12::1"], ["93.184.215.14", "::1"]],
)
def test_dns_names_resolving_to_private_addresses_are_refused(
    addresses: list[str],
    settings: Settings,
    image_server: LocalImageServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name is refused when any of its addresses is private (the connection might use it)."""
    monkeypatch.setattr(
        socket, "getaddrinfo", fake_dns({"images.example": addresses}, socket.getaddrinfo)
    )
    error = refused(image_server.url("/img.png", "images.example"), settings)
    assert (error.status, error.code) == (400, "image_url_forbidden")


@pytest.fixture
def test_server_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend 127.0.0.1 (the test server) is a public address, so that the cases after the
    first hop (redirects, DNS rebinding) can be tested with the setting off."""
    real = images.address_allowed

    def allowed(address: Any) -> bool:
        return str(address) == "127.0.0.1" or real(address)

    monkeypatch.setattr(images, "address_allowed", allowed)


@pytest.mark.usefixtures("test_server_is_public")
@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/img.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/img.png",
        "http://127.0.0.2:{port}/img.png",
        "http://2130706434:{port}/img.png",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_redirects_to_private_addresses_are_refused(
    target: str, settings: Settings, image_server: LocalImageServer
) -> None:
    target = target.format(port=image_server.port)
    url = image_server.url(f"/redirect?to={target}")
    assert run_load(image_server.url("/img.png"), settings) == PNG  # the first hop is allowed
    error = refused(url, settings)
    assert error.status == 400
    assert error.code in ("image_url_forbidden", "bad_image_url"), error.message
    assert "redirect" in error.message


@pytest.mark.usefixtures("test_server_is_public")
def test_a_redirect_to_an_allowed_address_is_followed(
    settings: Settings, image_server: LocalImageServer
) -> None:
    url = image_server.url(f"/redirect?to={image_server.url('/img.png')}")
    assert run_load(url, settings) == PNG


@pytest.mark.usefixtures("test_server_is_public")
def test_redirect_loops_end(settings: Settings, image_server: LocalImageServer) -> None:
    url = image_server.url("/redirect?to=/redirect%3Fto%3D/redirect")
    error = refused(image_server.url(f"/redirect?to={url}"), settings)
    assert (error.status, error.code) == (400, "image_fetch_failed")


@pytest.mark.usefixtures("test_server_is_public")
def test_the_checked_address_is_the_one_connected_to(
    settings: Settings, image_server: LocalImageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name answers the (allowed) test server first and a private address
    afterwards; the fetch connects to the address that was checked, never resolving again."""
    answers = {"rebind.example": ["127.0.0.1", "10.99.99.99", "10.99.99.99"]}
    monkeypatch.setattr(socket, "getaddrinfo", fake_dns(answers, socket.getaddrinfo))
    assert run_load(image_server.url("/img.png", "rebind.example"), settings) == PNG
    assert answers["rebind.example"] == ["10.99.99.99", "10.99.99.99"]  # resolved once


@pytest.mark.parametrize("nolength", [False, True])
def test_images_over_the_size_limit_are_refused(
    nolength: bool, settings: Settings, image_server: LocalImageServer
) -> None:
    path = f"/big?n={settings.max_image_bytes + 1}" + ("&nolength=1" if nolength else "")
    error = refused(image_server.url(path), settings, allow_private=True)
    assert (error.status, error.code) == (413, "image_too_large")


@pytest.mark.parametrize("path", ["/slow", "/hang"])
def test_the_whole_fetch_has_a_time_limit(
    path: str, settings: Settings, image_server: LocalImageServer
) -> None:
    """A server that trickles one byte at a time never trips a per-read timeout; the limit is
    on the whole fetch."""
    started = time.monotonic()
    error = refused(image_server.url(path), settings, allow_private=True)
    elapsed = time.monotonic() - started
    assert (error.status, error.code) == (400, "image_fetch_timeout")
    assert elapsed < settings.image_fetch_timeout_s + 2


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///etc/passwd", "http:///a.png", "javascript:x"]
)
def test_only_http_urls(url: str, settings: Settings) -> None:
    error = refused(url, settings)
    assert (error.status, error.code) == (400, "bad_image_url")


# -- through the HTTP API -------------------------------------------------------------------


def _no_pixels(data: bytes, modality: Modality) -> Verdict:
    return decide(default_registry().get("general-usage").pack, [], modality)


@pytest.mark.parametrize("allow", [False, True])
def test_the_api_answers_a_clear_400(
    allow: bool, tmp_path: Path, image_server: LocalImageServer
) -> None:
    settings = settings_for(tmp_path, allow_private_image_urls=allow)
    app = create_app(settings, image_checker=_no_pixels)
    url = image_server.url("/img.png", "localhost")
    with TestClient(app) as client:
        response = client.post(
            "/v1/check",
            json={"prompt": "a lighthouse", "input_images": [url]},
            headers={"Authorization": f"Bearer {KEY_ALICE}"},
        )
    if allow:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "image_url_forbidden"
        assert error["param"] == "input_images[0]" or error["param"].startswith("input_images")
        assert "AUPGUARD_ALLOW_PRIVATE_IMAGE_URLS" in error["message"]
