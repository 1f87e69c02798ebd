"""Exports re-verify with the public key alone; edits to the file are found at the right
event; a wrong key or a malformed file is a clear error."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pytest

from aupguard.records import AuditKind, AuditLog, ExportFormatError, PublicKey, SigningKey
from aupguard.records.audit import verify_export
from aupguard.store import Store
from aupguard.store.testing import MovableClock


def _export(audit: AuditLog, path: Path, **window: dt.datetime) -> None:
    buffer = io.StringIO()
    audit.export(buffer, **window)
    path.write_text(buffer.getvalue(), encoding="utf-8")


def _seed(audit: AuditLog, clock: MovableClock, days: int = 5) -> None:
    for day in range(days):
        audit.append(AuditKind.REPORT_RECEIVED, actor="user", subject=f"rep_{day}", data={"d": day})
        clock.advance(dt.timedelta(days=1))


def _public(signing_key: SigningKey, tmp_path: Path) -> PublicKey:
    path = tmp_path / "pub.pem"
    path.write_text(signing_key.public_key.pem())
    return PublicKey.from_file(path)


def test_export_reverifies_with_the_public_key(
    audit: AuditLog, clock: MovableClock, signing_key: SigningKey, tmp_path: Path
) -> None:
    _seed(audit, clock)
    out = tmp_path / "audit.jsonl"
    _export(audit, out)
    report = verify_export(out, _public(signing_key, tmp_path))
    assert report.ok and report.events == 5 and report.unsigned_tail == 0
    lines = out.read_text().splitlines()
    # canonical JSON: sorted keys, no whitespace
    assert all(line == json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False) for line in lines)  # fmt: skip


def test_window_export_verifies(
    audit: AuditLog, clock: MovableClock, signing_key: SigningKey, tmp_path: Path
) -> None:
    start = clock()
    _seed(audit, clock)
    out = tmp_path / "window.jsonl"
    _export(audit, out, since=start + dt.timedelta(days=1), until=start + dt.timedelta(days=3))
    report = verify_export(out, _public(signing_key, tmp_path))
    assert report.ok and report.events == 2 and report.last_seq == 3


def test_edited_export_is_reported_at_that_event(
    audit: AuditLog, clock: MovableClock, signing_key: SigningKey, tmp_path: Path
) -> None:
    _seed(audit, clock)
    out = tmp_path / "audit.jsonl"
    _export(audit, out)
    lines = out.read_text().splitlines()
    event = json.loads(lines[3])  # seq 3
    event["data"]["d"] = 99
    lines[3] = json.dumps(event)
    out.write_text("\n".join(lines) + "\n")
    report = verify_export(out, _public(signing_key, tmp_path))
    assert not report.ok and report.first_break is not None
    assert report.first_break.seq == 3 and "payload" in report.first_break.reason


def test_dropped_line_is_reported(
    audit: AuditLog, clock: MovableClock, signing_key: SigningKey, tmp_path: Path
) -> None:
    _seed(audit, clock)
    out = tmp_path / "audit.jsonl"
    _export(audit, out)
    lines = out.read_text().splitlines()
    del lines[2]  # seq 2
    out.write_text("\n".join(lines) + "\n")
    report = verify_export(out, _public(signing_key, tmp_path))
    assert report.first_break is not None and report.first_break.seq == 2


def test_wrong_key_does_not_verify(audit: AuditLog, clock: MovableClock, tmp_path: Path) -> None:
    _seed(audit, clock, 2)
    out = tmp_path / "audit.jsonl"
    _export(audit, out)
    report = verify_export(out, SigningKey.generate().public_key)
    assert not report.ok and report.first_break is not None
    assert "not by the given key" in report.first_break.reason


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("not json\n", ":1: not JSON"),
        ('{"type": "event"}\n', ":1: the first line must be"),
        (
            '{"type":"header","format":"aupguard-audit-export","v":1,"since":null,'
            '"until":null,"first_seq":1,"last_seq":1,"events":1,"key_id":"k"}\n'
            '{"type":"event","seq":"x"}\n',
            ":2: seq",
        ),
        (
            '{"type":"header","format":"aupguard-audit-export","v":1,"since":null,'
            '"until":null,"first_seq":1,"last_seq":1,"events":1,"key_id":"k"}\n[1]\n',
            ":2: expected a JSON object",
        ),
    ],
)
def test_malformed_export_is_a_clear_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(ExportFormatError, match=message):
        verify_export(path, SigningKey.generate().public_key)


def test_export_needs_the_signing_key(store: Store) -> None:
    from aupguard.records import ChainBrokenError

    with pytest.raises(ChainBrokenError, match="signing key"):
        AuditLog(store).export(io.StringIO())
