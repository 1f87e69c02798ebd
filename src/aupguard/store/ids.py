"""Identifiers: a readable prefix and 16 random hex digits (``acct_9f2c…``)."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"
