"""Helpers of the security tests: the service's settings with known secrets, and a
real local HTTP server for the image-URL (SSRF) tests."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from aupguard.api.settings import Settings, load_settings

ADMIN = "admin-token-" + "a" * 40
REVIEWER = "reviewer-token-" + "r" * 40
KEY_ALICE = "sk-alice-" + "0123456789abcdef" * 2
KEY_BOB = "sk-bob-" + "fedcba9876543210" * 2
UPSTREAM_KEY = "sk-upstream-" + "u" * 32


def settings_for(tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "backend": "embedded",
        "admin_token": ADMIN,
        "reviewer_token": REVIEWER,
        "api_keys": [
            {"key": KEY_ALICE, "account": "acct_alice", "org": "org_a"},
            {"key": KEY_BOB, "account": "acct_bob", "org": "org_b"},
        ],
        "data_dir": tmp,
        "rate_per_minute": 100_000,
        "rate_burst": 10_000,
        "strikes_to_suspend": 10_000,
    }
    values.update(overrides)
    return load_settings({}, **values)


def png_bytes(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


PNG = png_bytes()


class _Handler(BaseHTTPRequestHandler):
    """/img.png: a small PNG; /redirect?to=URL: 302 to URL; /big?n=N: N bytes;
    /slow: one byte every 0.2 s for a minute; /hang: headers, then nothing."""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        try:
            if parts.path == "/img.png":
                self._send(PNG)
            elif parts.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parts.path == "/big":
                n = int(query["n"][0])
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                if "nolength" not in query:
                    self.send_header("Content-Length", str(n))
                self.end_headers()
                chunk = b"\0" * 65536
                sent = 0
                while sent < n:
                    self.wfile.write(chunk[: n - sent])
                    sent += len(chunk)
            elif parts.path == "/slow":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "300")
                self.end_headers()
                for _ in range(300):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
                    time.sleep(0.2)
            elif parts.path == "/hang":
                time.sleep(30)
            else:
                self.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        """A fake upstream generator: POST /v1/images/generations answers one PNG; under /bad
        it refuses the key, echoing it back (as careless upstreams do)."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        auth = self.headers.get("Authorization", "")
        self.server.upstream_auth.append(auth)  # type: ignore[attr-defined]
        if self.path.startswith("/bad/"):
            body = json.dumps({"error": {"message": f"invalid key {auth}"}}).encode()
            status = 401
        else:
            image = base64.b64encode(PNG).decode()
            body = json.dumps({"created": 1, "data": [{"b64_json": image}]}).encode()
            status = 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LocalImageServer:
    def __init__(self) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.hits = []  # type: ignore[attr-defined]
        self.httpd.upstream_auth = []  # type: ignore[attr-defined]
        self.port: int = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def upstream_auth(self) -> list[str]:
        auth: list[str] = self.httpd.upstream_auth  # type: ignore[attr-defined]
        return auth

    @property
    def hits(self) -> list[str]:
        hits: list[str] = self.httpd.hits  # type: ignore[attr-defined]
        return hits

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def image_server() -> Iterator[LocalImageServer]:
    server = LocalImageServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
