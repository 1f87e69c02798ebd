"""``aupguard eval``: precision, recall, F1 and false-positive rate of a pack on labelled JSONL.

Records follow DESIGN.md: ``{"text", "flagged", "categories", "lang", "source"}``. An item
counts as predicted-flagged when the verdict is at or above ``flag_on`` (review by default).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aupguard.engine.moderator import Moderator
from aupguard.errors import InputError
from aupguard.policy.models import Action


@dataclass(frozen=True, slots=True)
class EvalRecord:
    line: int
    text: str
    flagged: bool
    categories: tuple[str, ...]
    lang: str | None
    source: str | None


def read_records(path: Path) -> Iterator[EvalRecord]:
    """Yield records; a malformed line raises InputError naming file and line."""
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{where}: not valid UTF-8 ({exc.reason})", code="bad_record"
                ) from None
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not JSON ({exc.msg})", code="bad_record") from None
            if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                raise InputError(f"{where}: needs a string field 'text'", code="bad_record")
            if not isinstance(obj.get("flagged"), bool):
                raise InputError(f"{where}: needs a boolean field 'flagged'", code="bad_record")
            cats = obj.get("categories") or []
            if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
                raise InputError(
                    f"{where}: 'categories' must be a list of strings", code="bad_record"
                )
            yield EvalRecord(
                line=lineno,
                text=obj["text"],
                flagged=obj["flagged"],
                categories=tuple(cats),
                lang=obj.get("lang"),
                source=obj.get("source"),
            )


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, truth: bool, predicted: bool) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif truth:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def figures(self) -> dict[str, float | int | None]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        precision = ratio(self.tp, self.tp + self.fp)
        recall = ratio(self.tp, self.tp + self.fn)
        f1 = (
            round(2 * precision * recall / (precision + recall), 4)
            if precision is not None and recall is not None and precision + recall > 0
            else None
        )
        return {
            "n": self.n,
            "positives": self.tp + self.fn,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "fpr": ratio(self.fp, self.fp + self.tn),
        }


@dataclass
class EvalReport:
    policy: str
    file: str
    flag_on: Action
    overall: Counts = field(default_factory=Counts)
    by_language: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    by_category: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    flagged_within_category: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    latencies_ms: list[float] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)

        def pct(q: float) -> float | None:
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)

        return {
            "policy": self.policy,
            "file": self.file,
            "flag_on": self.flag_on.value,
            "overall": self.overall.figures(),
            "by_language": {k: v.figures() for k, v in sorted(self.by_language.items())},
            "by_category": {k: v.figures() for k, v in sorted(self.by_category.items())},
            "flagged_recall_by_true_category": {
                k: v.figures()["recall"] for k, v in sorted(self.flagged_within_category.items())
            },
            "latency_ms": {
                "p50": pct(0.5),
                "p95": pct(0.95),
                "mean": round(statistics.fmean(lat), 3) if lat else None,
            },
            "skipped": self.skipped,
        }


def evaluate(
    moderator: Moderator,
    records: Iterable[EvalRecord],
    *,
    file: str = "",
    flag_on: Action = Action.REVIEW,
    limit: int | None = None,
) -> EvalReport:
    report = EvalReport(policy=moderator.pack.ref, file=file, flag_on=flag_on)
    chunk: list[EvalRecord] = []
    for i, rec in enumerate(records):
        if limit is not None and i >= limit:
            break
        chunk.append(rec)
        if len(chunk) == BATCH:
            _evaluate_chunk(moderator, chunk, report, file, flag_on)
            chunk = []
    if chunk:
        _evaluate_chunk(moderator, chunk, report, file, flag_on)
    return report


BATCH = 256


def _evaluate_chunk(
    moderator: Moderator, chunk: list[EvalRecord], report: EvalReport, file: str, flag_on: Action
) -> None:
    # Embeddings are computed for the whole chunk at once, as a batch job would; each item's
    # latency is its own check time plus its share of the batch's embedding time.
    started = time.perf_counter()
    moderator.prepare([r.text for r in chunk if len(r.text) <= moderator.limits.max_text_chars])
    shared_ms = (time.perf_counter() - started) * 1000 / len(chunk)
    for rec in chunk:
        started = time.perf_counter()
        try:
            verdict = moderator.check(rec.text)
        except InputError as exc:
            report.skipped.append(f"{file}:{rec.line}: {exc}")
            continue
        report.latencies_ms.append((time.perf_counter() - started) * 1000 + shared_ms)
        predicted = verdict.action.severity >= flag_on.severity
        report.overall.add(rec.flagged, predicted)
        report.by_language[rec.lang or verdict.lang or "und"].add(rec.flagged, predicted)
        fired = {h.category for h in verdict.clauses if h.action.severity >= flag_on.severity}
        for cat in set(rec.categories) | fired:
            report.by_category[cat].add(cat in rec.categories, cat in fired)
        for cat in rec.categories:
            report.flagged_within_category[cat].add(True, predicted)


def format_report(report: EvalReport) -> str:
    d = report.to_dict()

    def fmt(v: float | int | None) -> str:
        if v is None:
            return "   -  "
        return f"{v:6.3f}" if isinstance(v, float) else f"{v:6d}"

    head = f"{'':28} {'n':>6} {'pos':>6} {'prec':>6} {'recall':>6} {'f1':>6} {'fpr':>6}"
    lines = [f"policy {d['policy']}  file {d['file']}  flagged = verdict ≥ {d['flag_on']}", head]

    def row(name: str, f: dict[str, Any]) -> str:
        cols = (f["n"], f["positives"], f["precision"], f["recall"], f["f1"], f["fpr"])
        return f"{name[:28]:28} " + " ".join(fmt(c) for c in cols)

    lines.append(row("overall", d["overall"]))
    lines.append("by language")
    lines += [row(f"  {k}", v) for k, v in d["by_language"].items()]
    lines.append("by category (predicted = a clause on that category fired)")
    lines += [row(f"  {k}", v) for k, v in d["by_category"].items()]
    lat = d["latency_ms"]
    lines.append(f"latency per item: p50 {lat['p50']} ms, p95 {lat['p95']} ms")
    if report.skipped:
        lines.append(f"skipped {len(report.skipped)} unusable records, first: {report.skipped[0]}")
    return "\n".join(lines)
