"""``aupguard audit|statements|report`` as real processes: clear errors, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AUPGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "AUPGUARD_AUDIT_SIGNING_KEY_FILE": str(tmp_path / "audit.key"),
        "AUPGUARD_ENV": "development",
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aupguard", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_export_tamper_and_bad_input(env: dict[str, str], tmp_path: Path) -> None:
    org = json.loads(run(env, "accounts", "create-org", "Acme", "--json").stdout)["id"]
    account = json.loads(run(env, "accounts", "create", org, "--json").stdout)["id"]
    assert run(env, "enforcement", "--help").returncode == 0
    ok = run(env, "audit", "verify", "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    out = tmp_path / "x.jsonl"
    exported = run(env, "audit", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "generated a development audit signing key" in exported.stderr
    pub = tmp_path / "pub.pem"
    pub.write_text(run(env, "audit", "public-key").stdout)
    assert run(env, "audit", "verify-export", str(out), "--public-key", str(pub)).returncode == 0
    state = run(env, "audit", "state", account, "--json")
    assert state.returncode == 0 and json.loads(state.stdout)["matches"] is True

    other = tmp_path / "other.pem"
    other.write_text(
        __import__("aupguard.records", fromlist=["SigningKey"])
        .SigningKey.generate()
        .public_key.pem()
    )
    wrong = run(env, "audit", "verify-export", str(out), "--public-key", str(other))
    assert wrong.returncode == 3 and "not by the given key" in wrong.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{oops\n")
    for args, code, text in [
        (("audit", "verify-export", str(bad), "--public-key", str(pub)), 2, "bad.jsonl:1"),
        (("audit", "verify-export", str(out), "--public-key", str(bad)), 2, "not a PEM"),
        (("audit", "state", "acct_nope"), 2, "unknown account"),
        (("audit", "export", "--since", "yesterday"), 2, "not a date"),
        (("report", "transparency", "--from", "2025-02-01", "--to", "2025-01-01"), 2, "end after"),
    ]:
        proc = run(env, *args)
        assert proc.returncode == code, (args, proc.stdout, proc.stderr)
        assert text in proc.stderr + proc.stdout and "Traceback" not in proc.stderr

    db = env["AUPGUARD_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 2")
    broken = run(env, "audit", "verify")
    assert broken.returncode == 3 and "first break at seq 2" in broken.stdout
    refused = run(env, "audit", "checkpoint")
    assert (
        refused.returncode == 3 and "seq 2" in refused.stderr and "Traceback" not in refused.stderr
    )


def test_statements_and_report_files(env: dict[str, str], tmp_path: Path) -> None:
    proc = run(env, "statements", "export", "--out", str(tmp_path / "sor"), "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    html = tmp_path / "r.html"
    proc = run(env, "report", "transparency", "--from", "2020-01-01", "--to", "2040-01-01",
               "--format", "html", "--out", str(html))  # fmt: skip
    assert proc.returncode == 0, proc.stderr and html.read_text().startswith("<!DOCTYPE html>")


def test_a_purge_no_purge_event_lists_fails_verify(env: dict[str, str]) -> None:
    assert run(env, "accounts", "create-org", "Acme").returncode == 0
    db = env["AUPGUARD_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:  # the triggers let a purge-shaped UPDATE through
        conn.execute("""UPDATE events SET data = '{"_purged": true}' WHERE seq = 1""")
    proc = run(env, "audit", "verify")
    assert proc.returncode == 3 and "first break at seq 1" in proc.stdout
    assert "no records.purged event lists it" in proc.stdout


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="no headless Chromium (apt-get install chromium)"
)
def test_report_as_pdf(env: dict[str, str], tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_transparency import assert_is_report_pdf

    pdf = tmp_path / "r.pdf"
    proc = run(env, "report", "transparency", "--from", "2020-01-01", "--to", "2040-01-01",
               "--format", "pdf", "--operator", "Acme Ops", "--out", str(pdf))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert_is_report_pdf(pdf.read_bytes(), "Acme Ops")


def test_report_as_pdf_without_a_renderer(env: dict[str, str], tmp_path: Path) -> None:
    try:
        import weasyprint  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - depends on the machine
        pytest.skip("WeasyPrint is installed, so there is always a renderer")
    bare = {**env, "PATH": str(tmp_path / "empty-bin")}  # no chromium on PATH
    bare.pop("AUPGUARD_CHROMIUM", None)
    pdf = tmp_path / "r.pdf"
    proc = run(bare, "report", "transparency", "--from", "2020-01-01", "--to", "2040-01-01",
               "--format", "pdf", "--out", str(pdf))  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "apt-get install chromium" in proc.stderr and not pdf.exists()
