"""Signed session cookies and CSRF tokens for the reviewer UI (HMAC-SHA256, no server state).

The session cookie holds the username, an expiry and a nonce, signed with
``AUPGUARD_REVIEW_SECRET``; roles are read from the database on every request, so a role
change or a disabled reviewer takes effect at once. Every form carries a CSRF token, the HMAC of
a per-browser nonce kept in its own HttpOnly cookie (double submit, signed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time

from pydantic import BaseModel, ConfigDict, Field

SECRET_ENV = "AUPGUARD_REVIEW_SECRET"
SECURE_COOKIES_ENV = "AUPGUARD_REVIEW_SECURE_COOKIES"
SESSION_HOURS_ENV = "AUPGUARD_REVIEW_SESSION_HOURS"
SESSION_COOKIE = "aupguard_review"
CSRF_COOKIE = "aupguard_review_csrf"
MIN_SECRET_CHARS = 32


class WebSettings(BaseModel):
    """Settings of the reviewer UI (from the environment by ``web_settings_from_env``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: str = Field(min_length=MIN_SECRET_CHARS)
    secure_cookies: bool = True
    session_hours: int = Field(default=8, ge=1, le=24 * 30)


def web_settings_from_env(*, production: bool = False) -> WebSettings:
    """``AUPGUARD_REVIEW_SECRET`` signs sessions (required in production; otherwise a random
    one per process, so sessions end on restart and are not shared between workers)."""
    secret = os.environ.get(SECRET_ENV, "").strip()
    if not secret:
        if production:
            raise ValueError(
                f"{SECRET_ENV} must be set (at least {MIN_SECRET_CHARS} characters) in "
                "production: it signs reviewer sessions"
            )
        secret = secrets.token_hex(32)
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(f"{SECRET_ENV} must be at least {MIN_SECRET_CHARS} characters")
    secure = os.environ.get(SECURE_COOKIES_ENV, "1").strip().lower() not in ("0", "false", "no")
    hours_raw = os.environ.get(SESSION_HOURS_ENV, "8").strip() or "8"
    try:
        hours = int(hours_raw)
    except ValueError:
        raise ValueError(f"{SESSION_HOURS_ENV} must be a whole number of hours") from None
    return WebSettings(secret=secret, secure_cookies=secure, session_hours=hours)


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def make_session(secret: str, username: str, hours: int) -> str:
    body = json.dumps(
        {"u": username, "exp": int(time.time()) + hours * 3600, "n": secrets.token_hex(8)},
        separators=(",", ":"),
    ).encode()
    encoded = base64.urlsafe_b64encode(body).decode().rstrip("=")
    return f"{encoded}.{_sign(secret, encoded.encode())}"


def read_session(secret: str, cookie: str | None) -> str | None:
    """The username of a valid, unexpired session cookie; None for anything else."""
    if not cookie or "." not in cookie:
        return None
    encoded, signature = cookie.rsplit(".", 1)
    if not hmac.compare_digest(_sign(secret, encoded.encode()), signature):
        return None
    try:
        body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
        username, expiry = body["u"], int(body["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(username, str) or expiry < time.time():
        return None
    return username


def new_csrf_nonce() -> str:
    return secrets.token_hex(16)


def csrf_token(secret: str, nonce: str) -> str:
    return _sign(secret, f"csrf:{nonce}".encode())


def csrf_ok(secret: str, nonce: str | None, token: str | None) -> bool:
    if not nonce or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, nonce), token)
