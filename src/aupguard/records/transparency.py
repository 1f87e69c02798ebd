"""Transparency reports computed from the audit log alone (so an auditor holding an export
gets the same numbers).

What each figure counts (events in ``[from, to)``):

- *verdicts*: ``verdict.actioned`` events, by category, verdict action, surface, language
  and detection method (``data.detection``: ``automated`` or ``human``);
- *enforcement*: ``enforcement.<step>`` events (strikes and reversals excluded), by step,
  category and detection method (``automated`` when the actor is the system);
- *appeals*: ``appeal.filed``, ``appeal.decided`` and those with ``data.outcome ==
  "overturned"``; the overturn rate is overturned / decided;
- *user reports*: ``report.received`` and ``report.resolved`` by ``data.outcome``;
- *median time to action*: from ``report.received`` to its ``report.resolved`` (same
  ``subject``) with outcome ``actioned``; median appeal time likewise for appeals.

Formats: JSON, a single self-contained HTML file (inline CSS and SVG charts, no scripts, no
external resources) and PDF rendered from that same HTML by headless Chromium
(``AUPGUARD_CHROMIUM``, else ``chromium``/``chromium-browser``/``google-chrome`` on PATH) or,
without it, WeasyPrint (``pip install weasyprint``).
"""

from __future__ import annotations

import datetime as dt
import html
import os
import shutil
import statistics
import subprocess
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from aupguard.records.audit import AuditKind
from aupguard.records.errors import RecordsError
from aupguard.records.statements import SYSTEM_ACTORS
from aupguard.store import Store
from aupguard.store.records import Event

_NOT_ACTIONS = frozenset({"strike", "strike_reversed", "reversed"})


class TransparencyReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    period_from: dt.datetime
    period_to: dt.datetime
    verdicts_actioned: int
    verdicts_by_category: dict[str, int]
    verdicts_by_action: dict[str, int]
    verdicts_by_surface: dict[str, int]
    verdicts_by_language: dict[str, int]
    verdicts_by_detection: dict[str, int]
    enforcement_actions: int
    actions_by_step: dict[str, int]
    actions_by_category: dict[str, int]
    actions_by_detection: dict[str, int]
    actions_reversed: int
    appeals_filed: int
    appeals_decided: int
    appeals_overturned: int
    appeal_overturn_rate: float | None
    median_appeal_seconds: float | None
    reports_received: int
    reports_by_outcome: dict[str, int]
    median_time_to_action_seconds: float | None


def _count(values: Iterable[object]) -> dict[str, int]:
    counter = Counter(str(v) if v not in (None, "") else "unknown" for v in values)
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _median_gap(starts: dict[str, dt.datetime], ends: dict[str, dt.datetime]) -> float | None:
    gaps = [(ends[k] - starts[k]).total_seconds() for k in ends if k in starts]
    return statistics.median(gaps) if gaps else None


def build_report(
    events: Iterable[Event], period_from: dt.datetime, period_to: dt.datetime
) -> TransparencyReport:
    """The report over ``events`` that fall in ``[period_from, period_to)``."""
    if period_to <= period_from:
        raise RecordsError("the report period must end after it starts (--to after --from)")
    inside = [e for e in events if period_from <= e.at < period_to]
    verdicts = [e for e in inside if e.kind == AuditKind.VERDICT_ACTIONED]
    actions = [
        e
        for e in inside
        if e.kind.startswith("enforcement.") and e.kind.partition(".")[2] not in _NOT_ACTIONS
    ]
    filed = [e for e in inside if e.kind == AuditKind.APPEAL_FILED]
    decided = [e for e in inside if e.kind == AuditKind.APPEAL_DECIDED]
    overturned = [e for e in decided if e.data.get("outcome") == "overturned"]
    received = [e for e in inside if e.kind == AuditKind.REPORT_RECEIVED]
    resolved = [e for e in inside if e.kind == AuditKind.REPORT_RESOLVED]
    actioned = {
        e.subject: e.at for e in resolved if e.subject and e.data.get("outcome") == "actioned"
    }
    return TransparencyReport(
        period_from=period_from,
        period_to=period_to,
        verdicts_actioned=len(verdicts),
        verdicts_by_category=_count(e.data.get("category") for e in verdicts),
        verdicts_by_action=_count(e.data.get("action") for e in verdicts),
        verdicts_by_surface=_count(e.data.get("surface") for e in verdicts),
        verdicts_by_language=_count(e.data.get("language") for e in verdicts),
        verdicts_by_detection=_count(e.data.get("detection") for e in verdicts),
        enforcement_actions=len(actions),
        actions_by_step=_count(e.kind.partition(".")[2] for e in actions),
        actions_by_category=_count(e.data.get("category") for e in actions),
        actions_by_detection=_count(
            "automated" if e.actor in SYSTEM_ACTORS else "human" for e in actions
        ),
        actions_reversed=sum(1 for e in inside if e.kind == "enforcement.reversed"),
        appeals_filed=len(filed),
        appeals_decided=len(decided),
        appeals_overturned=len(overturned),
        appeal_overturn_rate=(len(overturned) / len(decided)) if decided else None,
        median_appeal_seconds=_median_gap(
            {e.subject: e.at for e in filed if e.subject},
            {e.subject: e.at for e in decided if e.subject},
        ),
        reports_received=len(received),
        reports_by_outcome=_count(e.data.get("outcome") for e in resolved),
        median_time_to_action_seconds=_median_gap(
            {e.subject: e.at for e in received if e.subject}, actioned
        ),
    )


def report_from_store(
    store: Store, period_from: dt.datetime, period_to: dt.datetime
) -> TransparencyReport:
    events: list[Event] = []
    after = 0
    while batch := store.events.query(after_id=after, limit=5000):
        events.extend(e for e in batch if period_from <= e.at < period_to)
        after = batch[-1].id
    return build_report(events, period_from, period_to)


# -- rendering -------------------------------------------------------------------------------


def _bar_chart(title: str, counts: dict[str, int]) -> str:
    esc = html.escape
    if not counts:
        return f"<h3>{esc(title)}</h3><p class='none'>none in this period</p>"
    top = max(counts.values()) or 1
    row_h, label_w, bar_w = 22, 220, 360
    rows = []
    for i, (label, value) in enumerate(counts.items()):
        y = i * row_h
        width = max(1, round(bar_w * value / top))
        rows.append(
            f"<text x='0' y='{y + 15}'>{esc(label)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{width}' height='{row_h - 6}' />"
            f"<text x='{label_w + width + 6}' y='{y + 15}'>{value}</text>"
        )
    height = row_h * len(counts)
    return (
        f"<h3>{esc(title)}</h3><svg role='img' aria-label='{esc(title)}' "
        f"width='{label_w + bar_w + 60}' height='{height}' "
        f"xmlns='http://www.w3.org/2000/svg'>{''.join(rows)}</svg>"
    )


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    return f"{value:.1%}" if unit == "%" else f"{value:,.0f}{unit}"


def render_html(report: TransparencyReport, *, operator: str = "aupguard operator") -> str:
    """One self-contained HTML file: inline CSS and SVG, no scripts, nothing fetched."""
    esc = html.escape
    period = f"{report.period_from.date().isoformat()} – {report.period_to.date().isoformat()}"
    summary = [
        ("Verdicts that led to an action", _fmt(report.verdicts_actioned)),
        ("Enforcement actions", _fmt(report.enforcement_actions)),
        ("Actions reversed", _fmt(report.actions_reversed)),
        ("Appeals filed", _fmt(report.appeals_filed)),
        ("Appeals decided", _fmt(report.appeals_decided)),
        ("Appeals overturned", _fmt(report.appeals_overturned)),
        ("Overturn rate", _fmt(report.appeal_overturn_rate, "%")),
        ("Median appeal time", _fmt(report.median_appeal_seconds, " s")),
        ("User reports received", _fmt(report.reports_received)),
        ("Median time to action (user reports)", _fmt(report.median_time_to_action_seconds, " s")),
    ]
    table = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in summary)
    charts = "".join(
        _bar_chart(title, counts)
        for title, counts in (
            ("Verdicts by category", report.verdicts_by_category),
            ("Verdicts by action", report.verdicts_by_action),
            ("Verdicts by surface", report.verdicts_by_surface),
            ("Verdicts by language", report.verdicts_by_language),
            ("Verdicts by detection method", report.verdicts_by_detection),
            ("Enforcement actions by step", report.actions_by_step),
            ("Enforcement actions by category", report.actions_by_category),
            ("Enforcement actions by detection method", report.actions_by_detection),
            ("User reports by outcome", report.reports_by_outcome),
        )
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Transparency report {esc(period)}</title><style>"
        "body{font-family:sans-serif;max-width:52rem;margin:2rem auto;color:#222}"
        "table{border-collapse:collapse}th,td{padding:.3rem .8rem;border-bottom:1px solid #ddd;"
        "text-align:left}svg text{font-size:12px}svg rect{fill:#3b6ea5}.none{color:#777}"
        "</style></head><body>"
        f"<h1>Transparency report</h1><p>{esc(operator)} · period {esc(period)} "
        "(computed from the audit log)</p>"
        f"<h2>Summary</h2><table>{table}</table><h2>Breakdowns</h2>{charts}</body></html>\n"
    )


CHROMIUM_ENV = "AUPGUARD_CHROMIUM"
_CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_CHROMIUM_TIMEOUT_S = 120
_INSTALL_HINT = (
    "PDF output needs headless Chromium or WeasyPrint: install Chromium (Debian/Ubuntu: "
    "apt-get install chromium; or set AUPGUARD_CHROMIUM to its path) or "
    "pip install weasyprint; or use --format html and print that to PDF"
)


def find_chromium() -> str | None:
    """The Chromium to print with: ``AUPGUARD_CHROMIUM`` (an error if it names no program),
    else the first of chromium, chromium-browser, google-chrome on PATH; None if none."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise RecordsError(f"{CHROMIUM_ENV}={configured!r} is not an executable program")
        return found
    for name in _CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def html_to_pdf_chromium(page: str, chromium: str) -> bytes:
    """Print ``page`` (a self-contained HTML document) to PDF with headless Chromium, in a
    throwaway profile, with no network fetches (the page needs none)."""
    with tempfile.TemporaryDirectory(prefix="aupguard-pdf-") as tmp:
        work = Path(tmp)
        source, target = work / "report.html", work / "report.pdf"
        source.write_text(page, encoding="utf-8")
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--no-pdf-header-footer",  # no file path or date printed on each page
            f"--user-data-dir={work / 'profile'}",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=_CHROMIUM_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise RecordsError(
                f"{chromium} did not print the report within {_CHROMIUM_TIMEOUT_S} s"
            ) from None
        except OSError as exc:
            raise RecordsError(f"cannot run {chromium}: {exc}") from None
        pdf = target.read_bytes() if target.is_file() else b""
        if done.returncode != 0 or not pdf.startswith(b"%PDF"):
            tail = " | ".join(done.stderr.strip().splitlines()[-3:]) or "no output"
            raise RecordsError(f"{chromium} did not produce a PDF (exit {done.returncode}): {tail}")
        return pdf


def render_pdf(report: TransparencyReport, *, operator: str = "aupguard operator") -> bytes:
    """The HTML report rendered to PDF: by headless Chromium if there is one
    (``find_chromium``), else by WeasyPrint if installed; else ``RecordsError`` saying what
    to install."""
    page = render_html(report, operator=operator)
    chromium = find_chromium()
    if chromium is not None:
        return html_to_pdf_chromium(page, chromium)
    try:
        from weasyprint import HTML  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise RecordsError(_INSTALL_HINT) from None
    pdf: bytes = HTML(string=page).write_pdf()
    return pdf
