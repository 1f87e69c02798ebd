"""The CSAM path: no strike, an immediate permanent ban, the item sealed in the vault,
a report package, linked accounts flagged. Fixtures are text prompts only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).parent))
from enforcement_fixtures import LADDER_PACK, verdict

from aupguard.enforcement.actions import ActionKind
from aupguard.enforcement.executor import EnforcedItem, EnforcementError, Enforcer
from aupguard.enforcement.vault import EvidenceVault, VaultKeyError, load_vault_key
from aupguard.store import Store

PROMPT = "synthetic test prompt standing in for a child-safety violation"


def test_csam_path(store: Store, tmp_path: Path) -> None:
    org = store.accounts.create_org("Acme")
    offender = store.accounts.create(org.id, external_id="u-1", email="x.y+1@gmail.com")
    same_mailbox = store.accounts.create(org.id, email="xy@googlemail.com")
    same_school = store.accounts.create(org.id, email="pupil@school.example")
    store.accounts.observe(offender.id, ip="198.51.100.20")
    store.accounts.observe(same_school.id, ip="198.51.100.77")  # shared NAT only
    store.credits.grant(offender.id, 40)
    key = Fernet.generate_key()
    vault = EvidenceVault(store, key)
    enforcer = Enforcer(store, LADDER_PACK, vault=vault, reports_dir=tmp_path / "reports")

    actions = enforcer.record_verdict(
        offender.id,
        verdict("sexual/minors", weight=100, clause_id="csam"),
        EnforcedItem(
            reference="req-77", prompt=PROMPT, ip="198.51.100.20", api_key_prefix="aupg_1234abcd"
        ),
    )
    steps = [(a.step, a.account_id) for a in actions]
    assert steps == [
        (ActionKind.PERMANENT_BAN, offender.id),
        (ActionKind.CREDIT_FORFEITURE, offender.id),
        (ActionKind.PRESERVE_EVIDENCE, offender.id),
        (ActionKind.REPORT_TO_AUTHORITIES, offender.id),
        (ActionKind.FLAG_FOR_REVIEW, same_mailbox.id),
    ]
    assert store.enforcement.strikes(offender.id) == []  # never a strike
    assert enforcer.standing(offender.id).banned
    assert store.credits.balance(offender.id) == 0
    assert not enforcer.standing(same_mailbox.id).blocked  # flagged, not punished

    # the vault: encrypted at rest, readable only with the key, every access logged
    item = store.vault.items(account_id=offender.id)[0]
    with store.session() as s:
        raw = s.execute(text("SELECT ciphertext FROM vault_items")).scalar_one()
    assert PROMPT.encode() not in bytes(raw)
    assert (item.retain_until - item.created_at).days == 365
    with pytest.raises(VaultKeyError):
        EvidenceVault(store, Fernet.generate_key()).open(item.id, actor="x", purpose="try")
    assert vault.open(item.id, actor="reviewer:kim", purpose="NCMEC follow-up") == PROMPT.encode()
    log = vault.access_log(item.id)
    assert [(e.action, e.actor) for e in log] == [("store", "system"), ("read", "reviewer:kim")]
    with pytest.raises(Exception, match="purpose"):
        store.vault.ciphertext(item.id, actor="kim", action="read", purpose=" ")
    assert store.vault.purge_expired(actor="janitor") == []  # under retention hold

    # the report package
    report_path = Path(store.vault.item(item.id).report_path or "missing")
    assert str(report_path) in actions[3].reason or report_path.name.startswith("ctr_")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["reported_person"]["account_id"] == offender.id
    assert report["reported_person"]["external_id"] == "u-1"
    assert "198.51.100.20" in report["reported_person"]["ip_addresses"]
    assert report["content"]["sha256"] == item.sha256 and report["content"]["prompt"] == PROMPT
    assert report["classification"]["category"] == "sexual/minors"
    assert report["linked_accounts"] == [same_mailbox.id]
    assert oct(report_path.stat().st_mode & 0o777) == "0o600"

    with pytest.raises(EnforcementError, match="legal hold"):
        enforcer.reverse(actions[2].id, actor="kim", reason="no")


def test_vault_key_from_env_and_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AUPGUARD_VAULT_KEY", raising=False)
    monkeypatch.setenv("AUPGUARD_VAULT_KEY_FILE", str(tmp_path / "vault.key"))
    key = load_vault_key()
    assert load_vault_key() == key  # created once, then read
    assert oct((tmp_path / "vault.key").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv("AUPGUARD_VAULT_KEY", "not-a-key")
    with pytest.raises(VaultKeyError, match="AUPGUARD_VAULT_KEY is not a Fernet key"):
        load_vault_key()
