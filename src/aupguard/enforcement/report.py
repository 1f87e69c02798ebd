"""Report packages with the fields an NCMEC CyberTipline report needs. The package is written
to a directory (``AUPGUARD_REPORTS_DIR``, default ``./aupguard-reports``) as JSON; submitting
it to the authority is the operator's configured connector, never this module.
Content itself stays in the evidence vault; the package references it by hash and vault id.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict

REPORTS_DIR_ENV = "AUPGUARD_REPORTS_DIR"
DEFAULT_REPORTS_DIR = "./aupguard-reports"


class ReportedPerson(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: str
    external_id: str | None
    email: str | None
    organisation_id: str
    organisation_name: str
    ip_addresses: tuple[str, ...]
    api_key_prefix: str | None
    account_created_at: dt.datetime


class ReportedContent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str
    content_type: str
    vault_item_id: str
    prompt: str | None
    reference: str | None


class Classification(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str
    pack: str
    clause: str
    clause_quote: str
    score: float
    detectors: tuple[str, ...]
    automated: bool = True
    human_reviewed: bool = False


class CyberTipReport(BaseModel):
    """Shaped after the CyberTipline report: incident, reporter, reported person, content."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: str
    schema_version: str = "aupguard-cybertip/1"
    incident_type: str = "Child Pornography (possession, manufacture, and distribution)"
    incident_time: dt.datetime
    prepared_at: dt.datetime
    reporter: str
    reported_person: ReportedPerson
    content: ReportedContent
    classification: Classification
    linked_accounts: tuple[str, ...]
    retention_until: dt.datetime
    status: str = "prepared"  # the connector sets submitted/acknowledged


def reports_dir_from_env() -> Path:
    return Path(os.environ.get(REPORTS_DIR_ENV, "").strip() or DEFAULT_REPORTS_DIR)


def new_report_id(when: dt.datetime) -> str:
    return f"ctr_{when:%Y%m%d}_{secrets.token_hex(6)}"


def write_report(report: CyberTipReport, directory: Path) -> Path:
    """Write atomically (temporary file, then rename) with owner-only permissions."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report.report_id}.json"
    tmp = directory / f".{report.report_id}.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(report.model_dump(mode="json"), handle, ensure_ascii=False, indent=2)
    os.replace(tmp, path)
    return path
