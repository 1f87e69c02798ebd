"""The canonical form and hashes of the audit chain (version 1).

An event's hash covers its position, the previous event's hash, its envelope and the SHA-256
of its payload; so a purged payload (retention) leaves the chain verifiable. Canonical JSON:
keys sorted, no whitespace, UTF-8 (not ASCII-escaped), no NaN or infinities; timestamps in UTC
as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``. ``migrations/versions/0002_audit_chain.py`` holds a frozen
copy for the events it chains; ``tests/records`` checks that both agree.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

CHAIN_VERSION = 1
GENESIS_HASH = "0" * 64
PURGED_MARKER = "_purged"


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a JSON value (raises ``ValueError`` for NaN/inf or non-JSON)."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except TypeError as exc:
        raise ValueError(f"not a JSON value: {exc}") from exc


def format_timestamp(value: dt.datetime) -> str:
    """UTC, microseconds, ``Z``: ``2025-03-01T12:00:00.000000Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime in the audit chain; use an aware UTC datetime")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str) -> dt.datetime:
    """The inverse of ``format_timestamp`` (raises ``ValueError`` on any other shape)."""
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def normalise_payload(data: dict[str, Any] | None) -> dict[str, Any]:
    """The payload as the database will hand it back (a JSON round trip)."""
    normal = json.loads(canonical_json(data or {}))
    if not isinstance(normal, dict):
        raise ValueError("an event payload must be a JSON object")
    return normal


def payload_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def event_header(
    *,
    seq: int,
    prev_hash: str,
    at: dt.datetime,
    kind: str,
    actor: str,
    account_id: str | None,
    org_id: str | None,
    subject: str | None,
    payload_hash: str,
) -> dict[str, Any]:
    """What an event's own hash is computed over."""
    return {
        "v": CHAIN_VERSION,
        "seq": seq,
        "prev_hash": prev_hash,
        "at": format_timestamp(at),
        "kind": kind,
        "actor": actor,
        "account_id": account_id,
        "org_id": org_id,
        "subject": subject,
        "payload_hash": payload_hash,
    }


def header_hash(header: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(header)).hexdigest()


def is_purged(data: dict[str, Any]) -> bool:
    return data.get(PURGED_MARKER) is True
