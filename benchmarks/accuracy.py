"""Accuracy of aupguard next to third-party baselines, side by side, on labelled data.

    python benchmarks/accuracy.py [--data ../shared/data] [--policy general-usage]
        [--limit-per-file 2000] [--json out.json] [--only 'dev/*'] [--split auto]
        [--systems aupguard,aupguard-lexicon,profanity-check,glin-profanity,hatesonar]

Files: every ``dev/*.jsonl`` (measure-only sets); ``val/<source>``, the rows of ``train/``
and ``data/examples/`` that the trained text classifier does not train on (its own
validation split, or a hash of the text where the training package is absent: see
``held_out``); and ``data/examples/crosslingual.jsonl`` one language at a time
(``xl/<lang>``). At most ``--limit-per-file`` rows per file, sampled with seed 0. Texts the
moderator refuses (empty, over its 20,000-character limit) are left out for every system.

Prints one table, systems side by side: per file precision, recall, F1, AUPRC, false-positive
rate and recall at a 1% false-positive rate where the file has both labels, recall where
every row is flagged, the false-positive rate where none is; then every row pooled, per
language and recall per taxonomy category (from the records' own ``categories``). ``*`` marks
the best system on a line. ``--json`` writes every figure, per file also per language and per
category. ``benchmarks/README.md`` explains the systems and the latest figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import hashlib
import json
import os
import platform
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from aupguard.engine.moderator import Limits, validate_text
from aupguard.errors import InputError
from aupguard.evaluation import Counts, EvalRecord, read_records
from aupguard.policy.registry import default_registry
from baselines import SYSTEMS, Predictions, System, Unavailable

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
EXAMPLES = REPO / "data" / "examples"
CROSSLINGUAL = "crosslingual.jsonl"
VALIDATION_PERCENT = 15
SPLIT_SEED = 0
SHORT = {
    "aupguard": "aupguard",
    "aupguard-lexicon": "aupg-lex",
    "profanity-check": "prof-chk",
    "glin-profanity": "glin",
    "hatesonar": "sonar",
}


# -- data ---------------------------------------------------------------------------------


def in_validation_split(text: str) -> bool:
    """The fallback split, deterministic and stateless: ``sha1(text) % 100 < 15``."""
    digest = hashlib.sha1(text.encode("utf-8")).digest()
    return int.from_bytes(digest, "big") % 100 < VALIDATION_PERCENT


HASH_SPLIT = f"sha1(text) % 100 < {VALIDATION_PERCENT} per train/ file"


def hash_split(data: Path) -> dict[str, list[EvalRecord]]:
    return {
        path.stem: [r for r in read_records(path) if in_validation_split(r.text)]
        for path in sorted((data / "train").glob("*.jsonl"))
    }


def training_split(data: Path) -> dict[str, list[EvalRecord]]:
    """The text classifier's own validation rows: ``aupguard.training.data`` reads
    ``train/`` and ``data/examples/`` (not the cross-lingual file), drops texts that are also
    in ``dev/``, caps and de-duplicates, then ``split_rows`` puts a seeded (seed 0) 15% of each
    stratum's groups in validation. Labels are the ones training uses (mapped onto the
    classifier's head categories). Raises ImportError where the training package is absent."""
    from aupguard.training.data import load_rows, split_rows

    langs: dict[str, str] = {}
    for path in [*sorted((data / "train").glob("*.jsonl")), *sorted(EXAMPLES.glob("*.jsonl"))]:
        for r in read_records(path):
            langs.setdefault(r.text, r.lang or "und")
    loaded = load_rows(data / "train", EXAMPLES, seed=SPLIT_SEED, exclude=[data / "dev"])
    _, validation = split_rows(loaded.rows, seed=SPLIT_SEED)
    out: dict[str, list[EvalRecord]] = defaultdict(list)
    for row in validation:
        # the authored example files are small: one set, their categories apart in the table
        rows = out["examples" if row.source.startswith("examples/") else row.source]
        rows.append(
            EvalRecord(
                line=len(rows) + 1,
                text=row.text,
                flagged=row.flagged,
                categories=tuple(sorted(row.categories)),
                lang=langs.get(row.text),
                source=row.source,
            )
        )
    return dict(sorted(out.items()))


def held_out(data: Path, how: str) -> tuple[dict[str, list[EvalRecord]], str]:
    """The rows of ``train/`` the classifier does not train on, by source, and how they were
    chosen: ``training`` (its own split), ``hash`` or ``auto`` (the first that works)."""
    if how in ("auto", "training"):
        try:
            split = training_split(data)
        except Exception as exc:  # absent, or its API moved on: say so, fall back or stop
            if how == "training":
                raise SystemExit(f"the training package's split failed: {exc!r}") from None
            print(f"training split unavailable ({exc!r}); using {HASH_SPLIT}", file=sys.stderr)
        else:
            return split, f"the classifier's own (aupguard.training.data, seed {SPLIT_SEED})"
    return hash_split(data), HASH_SPLIT


@dataclass
class DataFile:
    name: str
    records: list[EvalRecord]
    total: int  # rows in the file (or split) before the limit
    skipped: int  # rows refused by the moderator's input checks


def _sample(records: list[EvalRecord], limit: int | None) -> list[EvalRecord]:
    if limit is None or len(records) <= limit:
        return records
    chosen = random.Random(0).sample(range(len(records)), limit)
    return [records[i] for i in sorted(chosen)]


def _usable(records: Iterable[EvalRecord]) -> tuple[list[EvalRecord], int]:
    limits, out, skipped = Limits(), [], 0
    for r in records:
        try:
            validate_text(r.text, limits)
        except InputError:
            skipped += 1
            continue
        out.append(r)
    return out, skipped


def load_files(
    data: Path, limit: int | None, only: Sequence[str], split: str = "auto"
) -> tuple[list[DataFile], str]:
    files: list[DataFile] = []

    def wanted(name: str) -> bool:
        return not only or any(fnmatch.fnmatch(name, pat) for pat in only)

    def add(name: str, records: list[EvalRecord]) -> None:
        if wanted(name):
            usable, skipped = _usable(records)
            files.append(DataFile(name, _sample(usable, limit), len(records), skipped))

    for path in sorted((data / "dev").glob("*.jsonl")):
        add(f"dev/{path.stem}", list(read_records(path)))
    split_how = "not used"
    sources = [p.stem for p in (data / "train").glob("*.jsonl")] + ["examples"]
    if any(wanted(f"val/{source}") for source in sources):
        validation, split_how = held_out(data, split)
        for source, rows in validation.items():
            add(f"val/{source}", rows)
    crosslingual = EXAMPLES / CROSSLINGUAL
    if crosslingual.exists():
        by_lang: dict[str, list[EvalRecord]] = defaultdict(list)
        for r in read_records(crosslingual):
            by_lang[r.lang or "und"].append(r)
        for lang, rows in by_lang.items():
            add(f"xl/{lang}", rows)
    return files, split_how


# -- metrics ------------------------------------------------------------------------------


def average_precision(truth: npt.NDArray[np.bool_], score: npt.NDArray[np.float64]) -> float | None:
    """Area under the precision-recall curve as average precision (the step-wise sum
    ``Σ (R_k - R_{k-1}) P_k`` over distinct score thresholds, as scikit-learn computes it).
    None when the records are all of one label."""
    if truth.all() or not truth.any():
        return None
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], truth[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tps = np.cumsum(y)[last_of_group]
    precision = tps / (last_of_group + 1)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def recall_at_fpr(
    truth: npt.NDArray[np.bool_], score: npt.NDArray[np.float64], max_fpr: float
) -> float | None:
    """The best recall any score threshold reaches while the false-positive rate stays at or
    below ``max_fpr``: systems compared at one operating point, whatever their own cut-off.
    None when the records are all of one label."""
    if truth.all() or not truth.any():
        return None
    order = np.argsort(-score, kind="mergesort")
    s, y = score[order], truth[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tps = np.cumsum(y)[last_of_group]
    fps = last_of_group + 1 - tps
    ok = fps / (~truth).sum() <= max_fpr + 1e-12
    return float(tps[ok].max() / truth.sum()) if ok.any() else 0.0


@dataclass
class Figures:
    """Counts and scores of one system on one set of records."""

    counts: Counts = field(default_factory=Counts)
    truth: list[bool] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, truth: bool, predicted: bool, score: float) -> None:
        self.counts.add(truth, predicted)
        self.truth.append(truth)
        self.scores.append(score)

    def to_dict(self) -> dict[str, Any]:
        out = self.counts.figures()
        ap = average_precision(np.array(self.truth, dtype=np.bool_), np.array(self.scores))
        out["auprc"] = None if ap is None else round(ap, 4)
        r1 = recall_at_fpr(np.array(self.truth, dtype=np.bool_), np.array(self.scores), 0.01)
        out["recall_at_1pct_fpr"] = None if r1 is None else round(r1, 4)
        return out


@dataclass
class SystemResult:
    overall: Figures = field(default_factory=Figures)
    by_language: dict[str, Figures] = field(default_factory=lambda: defaultdict(Figures))
    # recall of the flagged decision on records labelled with a category
    by_category: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    # aupguard only: a clause on that category fired (>= review) vs. the record's categories
    category_match: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))

    def add(self, records: Sequence[EvalRecord], pred: Predictions) -> None:
        for i, r in enumerate(records):
            flagged, score = bool(pred.flagged[i]), float(pred.score[i])
            self.overall.add(r.flagged, flagged, score)
            self.by_language[r.lang or "und"].add(r.flagged, flagged, score)
            for cat in r.categories:
                self.by_category[cat].add(True, flagged)
            if pred.categories is not None:
                fired = pred.categories[i]
                for cat in set(r.categories) | fired:
                    self.category_match[cat].add(cat in r.categories, cat in fired)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "overall": self.overall.to_dict(),
            "by_language": {k: v.to_dict() for k, v in sorted(self.by_language.items())},
            "recall_by_category": {
                k: {"n": v.n, "recall": v.figures()["recall"]}
                for k, v in sorted(self.by_category.items())
            },
        }
        if self.category_match:
            out["category_match"] = {k: v.figures() for k, v in sorted(self.category_match.items())}
        return out


# -- running ------------------------------------------------------------------------------


def load_systems(names: Sequence[str], policy: str) -> tuple[list[System], dict[str, str]]:
    systems: list[System] = []
    unavailable: dict[str, str] = {}
    for name in names:
        try:
            systems.append(SYSTEMS[name](policy))
        except Unavailable as exc:
            unavailable[name] = str(exc)
        except Exception as exc:  # a system that cannot start must not stop the others
            unavailable[name] = f"failed to start: {type(exc).__name__}: {exc}"
        if name in unavailable:
            print(f"skipping {name}: {unavailable[name]}", file=sys.stderr)
    return systems, unavailable


def run(
    systems: Sequence[System], files: Sequence[DataFile]
) -> tuple[dict[str, dict[str, SystemResult]], dict[str, SystemResult], dict[str, dict[str, Any]]]:
    per_file: dict[str, dict[str, SystemResult]] = {f.name: {} for f in files}
    pooled: dict[str, SystemResult] = {}
    timing: dict[str, dict[str, Any]] = {}
    for system in systems:
        pooled[system.name] = SystemResult()
        started, n, errors = time.perf_counter(), 0, 0
        for f in files:
            if not f.records:
                continue
            pred = system.predict([r.text for r in f.records])
            result = SystemResult()
            result.add(f.records, pred)
            pooled[system.name].add(f.records, pred)
            per_file[f.name][system.name] = result
            n += len(f.records)
            errors += pred.errors
        seconds = time.perf_counter() - started
        timing[system.name] = {
            "seconds": round(seconds, 2),
            "texts_per_s": round(n / seconds, 1) if seconds else None,
            "texts_with_errors": errors,
        }
        print(
            f"  {system.name:<17} {n:>6} texts in {seconds:6.1f} s"
            + (f"  ({errors} with detector errors)" if errors else ""),
            file=sys.stderr,
        )
    return per_file, pooled, timing


# -- the table ----------------------------------------------------------------------------

LOWER_IS_BETTER = {"fpr"}
MIN_LANGUAGE_ROWS = 20  # smaller language groups are only in the JSON


def _cell(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _metric_line(label: str, n: str, pos: str, metric: str, values: list[Any]) -> str:
    known = [v for v in values if v is not None]
    best = None
    if len(known) > 1 and len(set(known)) > 1:
        best = min(known) if metric in LOWER_IS_BETTER else max(known)
    cells = [f"{_cell(v)}{'*' if v is not None and v == best else ' '}" for v in values]
    return f"{label:<30} {n:>6} {pos:>6} {metric:<6} " + " ".join(f"{c:>10}" for c in cells)


def _metrics_for(d: dict[str, Any]) -> list[str]:
    n, pos = d["n"], d["positives"]
    if pos == 0:
        return ["fpr"]
    if pos == n:
        return ["recall"]
    return ["prec", "recall", "f1", "auprc", "fpr", "r@1%"]


_KEY = {
    "prec": "precision",
    "recall": "recall",
    "f1": "f1",
    "auprc": "auprc",
    "fpr": "fpr",
    "r@1%": "recall_at_1pct_fpr",
}


def _group(label: str, by_system: dict[str, dict[str, Any]], names: list[str]) -> list[str]:
    first = next(iter(by_system.values()))
    lines = []
    for j, metric in enumerate(_metrics_for(first)):
        values = [by_system[s][_KEY[metric]] if s in by_system else None for s in names]
        if j == 0:
            lines.append(
                _metric_line(label, str(first["n"]), str(first["positives"]), metric, values)
            )
        else:
            lines.append(_metric_line("", "", "", metric, values))
    return lines


def format_table(
    files: Sequence[DataFile],
    per_file: dict[str, dict[str, SystemResult]],
    pooled: dict[str, SystemResult],
    names: list[str],
) -> str:
    head = f"{'file':<30} {'n':>6} {'pos':>6} {'metric':<6} " + " ".join(
        f"{SHORT.get(s, s)[:10]:>10}" for s in names
    )
    lines = [head, "-" * len(head)]
    for f in files:
        results = per_file.get(f.name) or {}
        if results:
            lines += _group(f.name, {s: r.overall.to_dict() for s, r in results.items()}, names)
    if not pooled:
        return "\n".join(lines)
    lines += ["-" * len(head)]
    lines += _group("ALL FILES POOLED", {s: r.overall.to_dict() for s, r in pooled.items()}, names)
    lines += ["-" * len(head), f"by language, pooled over files ({MIN_LANGUAGE_ROWS}+ rows)"]
    langs = sorted(
        {
            lang
            for r in pooled.values()
            for lang, figs in r.by_language.items()
            if figs.counts.n >= MIN_LANGUAGE_ROWS
        }
    )
    for lang in langs:
        by = {s: r.by_language[lang].to_dict() for s, r in pooled.items() if lang in r.by_language}
        lines += _group(f"  {lang}", by, names)
    lines += ["-" * len(head), "recall of flagged records by their category (pooled)"]
    cats = sorted({c for r in pooled.values() for c in r.by_category})
    for cat in cats:
        by = {}
        for s, r in pooled.items():
            figs = r.by_category[cat].figures()
            by[s] = {"n": figs["n"], "positives": figs["n"], "recall": figs["recall"]}
        lines += _group(f"  {cat}", by, names)
    return "\n".join(lines)


# -- main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--policy", default="general-usage")
    parser.add_argument(
        "--limit-per-file", type=int, default=2000, help="rows per file, sampled (0: all)"
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument(
        "--only", action="append", default=[], help="file-name pattern, e.g. 'dev/*' (repeat)"
    )
    parser.add_argument(
        "--split",
        choices=["auto", "training", "hash"],
        default="auto",
        help="validation rows of train/: the classifier's own split, a hash of the text, or "
        "the first that works (default)",
    )
    args = parser.parse_args(argv)

    names = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in names if s not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    try:
        default_registry().get(args.policy)
    except (KeyError, ValueError) as exc:  # UnknownPackError, PackError
        parser.error(str(exc))
    if not (args.data / "dev").is_dir() and not (args.data / "train").is_dir():
        parser.error(f"no dev/ or train/ under {args.data}; pass --data")

    started = time.perf_counter()
    limit = args.limit_per_file or None
    files, split_how = load_files(args.data, limit, args.only, args.split)
    n_rows = sum(len(f.records) for f in files)
    print(
        f"{len(files)} files, {n_rows} rows (<= {limit or 'all'} per file, seed 0); "
        f"validation rows of train/: {split_how}",
        file=sys.stderr,
    )
    systems, unavailable = load_systems(names, args.policy)
    for s in systems:
        print(f"  {s.name}: {s.description}", file=sys.stderr)
    per_file, pooled, timing = run(systems, files)
    ran = [s.name for s in systems]
    print(format_table(files, per_file, pooled, ran))
    wall = time.perf_counter() - started
    skipped = sum(f.skipped for f in files)
    print(
        f"policy {args.policy}; flagged = each system's own decision; * = best on the line; "
        f"{skipped} rows refused by input checks (empty or too long) left out"
    )
    for name, reason in unavailable.items():
        print(f"not run: {name}: {reason}")
    print(f"wall time {wall:.1f} s on {os.cpu_count()} cores")

    if args.json:
        report = {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "policy": args.policy,
            "limit_per_file": limit,
            "validation_split": split_how,
            "wall_s": round(wall, 1),
            "systems": {
                **{s.name: {"description": s.description, **timing[s.name]} for s in systems},
                **{n: {"unavailable": reason} for n, reason in unavailable.items()},
            },
            "files": {
                f.name: {
                    "rows_in_file": f.total,
                    "refused_by_input_checks": f.skipped,
                    "measured": len(f.records),
                    "systems": {s: r.to_dict() for s, r in per_file[f.name].items()},
                }
                for f in files
            },
            "pooled": {s: r.to_dict() for s, r in pooled.items()},
        }
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
