"""Transparency report figures equal counts made directly from a seeded scenario's events."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "enforcement"))
from enforcement_fixtures import LADDER_PACK, verdict

from aupguard.enforcement.executor import Enforcer
from aupguard.records import (
    AuditKind,
    AuditLog,
    RecordsError,
    render_html,
    report_from_store,
    transparency,
)
from aupguard.records.transparency import render_pdf
from aupguard.store import Store
from aupguard.store.testing import MovableClock


def test_report_numbers_equal_direct_counts(
    store: Store, audit: AuditLog, clock: MovableClock, tmp_path: Path
) -> None:
    start = clock()
    org = store.accounts.create_org("Acme")
    accounts = [store.accounts.create(org.id).id for _ in range(3)]
    enforcer = Enforcer(store, LADDER_PACK, reports_dir=tmp_path)
    seeded = [("sexual", "block", "content", "en"), ("hate", "block", "content", "zh"),
              ("sexual", "review", "content", "en"), ("abuse/scraping", "block", "behaviour", "en")]  # fmt: skip
    for i, (category, action, surface, lang) in enumerate(seeded * 3):
        audit.append(
            AuditKind.VERDICT_ACTIONED,
            actor="system",
            account_id=accounts[i % 3],
            data={"category": category, "action": action, "surface": surface,
                  "language": lang, "detection": "automated" if i % 4 else "human"},
        )  # fmt: skip
        enforcer.record_verdict(accounts[i % 3], verdict("sexual"))
        clock.advance(dt.timedelta(minutes=10))
    gaps = []
    for r in range(4):
        audit.append(AuditKind.REPORT_RECEIVED, actor="user", subject=f"rep{r}")
        clock.advance(dt.timedelta(minutes=30 * (r + 1)))
        gaps.append(1800 * (r + 1))
        outcome = "actioned" if r < 3 else "dismissed"
        audit.append(AuditKind.REPORT_RESOLVED, actor="rev", subject=f"rep{r}",
                     data={"outcome": outcome})  # fmt: skip
    for a in range(3):
        audit.append(AuditKind.APPEAL_FILED, actor="user", subject=f"ap{a}")
        clock.advance(dt.timedelta(hours=a + 1))
        audit.append(AuditKind.APPEAL_DECIDED, actor="rev", subject=f"ap{a}",
                     data={"outcome": "overturned" if a == 0 else "upheld"})  # fmt: skip
    end = clock() + dt.timedelta(seconds=1)
    clock.advance(dt.timedelta(days=1))
    audit.append(AuditKind.APPEAL_FILED, actor="user", subject="outside")  # after the period

    report = report_from_store(store, start, end)
    events = [e for e in store.events.query(limit=100_000) if start <= e.at < end]
    verdicts = [e for e in events if e.kind == "verdict.actioned"]
    actions = [e for e in events if e.kind.startswith("enforcement.")
               and e.kind not in ("enforcement.strike", "enforcement.strike_reversed",
                                  "enforcement.reversed")]  # fmt: skip
    assert report.verdicts_actioned == len(verdicts) == 12
    assert report.verdicts_by_category == {"sexual": 6, "abuse/scraping": 3, "hate": 3}
    assert report.verdicts_by_surface == {"content": 9, "behaviour": 3}
    assert report.verdicts_by_language == {"en": 9, "zh": 3}
    assert report.verdicts_by_detection == {"automated": 9, "human": 3}
    assert report.verdicts_by_action == {"block": 9, "review": 3}
    assert report.enforcement_actions == len(actions) > 0
    assert sum(report.actions_by_step.values()) == len(actions)
    assert report.actions_by_detection == {"automated": len(actions)}
    assert (report.appeals_filed, report.appeals_decided, report.appeals_overturned) == (3, 3, 1)
    assert report.appeal_overturn_rate == pytest.approx(1 / 3)
    assert report.median_appeal_seconds == 7200
    assert report.reports_received == 4
    assert report.reports_by_outcome == {"actioned": 3, "dismissed": 1}
    assert report.median_time_to_action_seconds == statistics.median(gaps[:3])

    page = render_html(report, operator="Acme")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "Acme" in page
    assert "<script" not in page and "src=" not in page and "href=" not in page


def _no_renderer(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a machine with neither Chromium nor WeasyPrint."""
    monkeypatch.delenv(transparency.CHROMIUM_ENV, raising=False)
    monkeypatch.setattr(transparency.shutil, "which", lambda name: None)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails


def test_bad_period_and_missing_pdf_renderer(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    now = store.now()
    with pytest.raises(RecordsError, match="end after"):
        report_from_store(store, now, now)
    report = report_from_store(store, now - dt.timedelta(days=1), now)
    _no_renderer(monkeypatch)
    with pytest.raises(RecordsError, match="apt-get install chromium") as raised:
        render_pdf(report)
    assert "pip install weasyprint" in str(raised.value)


def test_a_configured_chromium_that_is_not_there_is_an_error(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    now = store.now()
    report = report_from_store(store, now - dt.timedelta(days=1), now)
    monkeypatch.setenv(transparency.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    with pytest.raises(RecordsError, match="not an executable"):
        render_pdf(report)
    fake = tmp_path / "fake-chromium"  # runs, but prints no PDF
    fake.write_text("#!/bin/sh\necho 'cannot print' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv(transparency.CHROMIUM_ENV, str(fake))
    with pytest.raises(RecordsError, match=r"did not produce a PDF \(exit 1\): cannot print"):
        render_pdf(report)


def pdf_title(pdf: bytes) -> str | None:
    """The document title Chromium writes into the PDF's info dictionary (UTF-16 hex)."""
    found = re.search(rb"/Title\s*<FEFF([0-9A-Fa-f]*)>", pdf)
    return bytes.fromhex(found.group(1).decode()).decode("utf-16-be") if found else None


def assert_is_report_pdf(pdf: bytes, operator: str) -> None:
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 5_000 and re.search(rb"/Type\s*/Page\b", pdf)
    title = pdf_title(pdf)
    assert title is not None and title.startswith("Transparency report ")
    if shutil.which("pdftotext"):  # poppler-utils, where installed: the text itself
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
        ).stdout.decode()
        assert "Transparency report" in text and operator in text


@pytest.mark.skipif(
    transparency.find_chromium() is None,
    reason="no headless Chromium (apt-get install chromium, or set AUPGUARD_CHROMIUM)",
)
def test_pdf_is_printed_from_the_html_by_chromium(
    store: Store, audit: AuditLog, clock: MovableClock
) -> None:
    start = clock()
    audit.append(AuditKind.REPORT_RECEIVED, actor="user", subject="rep_1")
    clock.advance(dt.timedelta(hours=1))
    report = report_from_store(store, start, clock() + dt.timedelta(days=1))
    assert report.reports_received == 1
    assert_is_report_pdf(render_pdf(report, operator="Acme Trust & Safety"), "Acme")
