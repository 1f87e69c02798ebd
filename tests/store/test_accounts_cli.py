"""``aupguard accounts|keys|credits|enforcement`` run as real processes on a SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aupguard.store.testing import head_revision


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AUPGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aupguard", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def ok(env: dict[str, str], *args: str) -> Any:
    proc = run(env, *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_account_key_credit_lifecycle(env: dict[str, str]) -> None:
    assert ok(env, "accounts", "migrate")["revision"] == head_revision()
    ok(env, "accounts", "plan", "pro", "--rate", "5", "--burst", "10", "--price", "image=4")
    org = ok(env, "accounts", "create-org", "Acme", "--plan", "pro")["id"]
    account = ok(env, "accounts", "create", org, "--email", "a@example.com")["id"]
    assert [a["id"] for a in ok(env, "accounts", "list")] == [account]

    created = ok(env, "keys", "create", account, "--name", "ci", "--scope", "moderate")
    assert created["secret"].startswith(created["key"]["prefix"])
    rotated = ok(env, "keys", "rotate", created["key"]["id"])
    assert rotated["replaces"] == created["key"]["id"]
    ok(env, "keys", "revoke", rotated["key"]["id"], "--reason", "leaked")
    states = [k["state"] for k in ok(env, "keys", "list", account)]
    assert states == ["revoked", "revoked"]
    listing = run(env, "keys", "list", account).stdout
    assert created["secret"] not in listing and created["key"]["prefix"] in listing

    ok(env, "credits", "grant", account, "50", "--reason", "welcome")
    assert ok(env, "credits", "balance", account)["balance"] == 50
    assert [e["kind"] for e in ok(env, "credits", "ledger", account)] == ["grant"]
    shown = ok(env, "accounts", "show", account)
    assert shown["balance"] == 50 and shown["standing"]["banned"] is False
    ok(env, "accounts", "attest-age", account, "--age", "30", "--method", "verified")
    assert ok(env, "enforcement", "history", account) == []


def test_bad_input_exit_codes(env: dict[str, str]) -> None:
    ok(env, "accounts", "migrate")
    unknown = run(env, "credits", "balance", "acct_missing")
    assert unknown.returncode == 2 and "unknown account 'acct_missing'" in unknown.stderr
    org = ok(env, "accounts", "create-org", "Acme")["id"]
    account = ok(env, "accounts", "create", org)["id"]
    negative = run(env, "credits", "grant", account, "--", "-5")
    assert negative.returncode == 2 and "must be positive" in negative.stderr
    bad_price = run(env, "accounts", "plan", "p", "--rate", "1", "--burst", "1", "--price", "x")
    assert bad_price.returncode == 2 and "OPERATION=WHOLE_CREDITS" in bad_price.stderr
    reverse = run(env, "enforcement", "reverse", "act_nope", "--actor", "me", "--reason", "r")
    assert reverse.returncode == 2 and "unknown enforcement action" in reverse.stderr
    assert "Traceback" not in unknown.stderr + negative.stderr + reverse.stderr


def test_unreachable_database(env: dict[str, str]) -> None:
    env = {**env, "AUPGUARD_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    proc = run(env, "credits", "balance", "acct_x")
    assert proc.returncode == 1 and "cannot" in proc.stderr and "Traceback" not in proc.stderr
