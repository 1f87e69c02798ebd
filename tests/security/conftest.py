"""Fixtures of the security tests (helpers in secutil.py)."""

from __future__ import annotations

from secutil import image_server

__all__ = ["image_server"]
