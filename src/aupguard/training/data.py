"""Training data: read the JSONL sources, map their labels onto the classifier's heads,
de-duplicate, drop anything that is also an evaluation text, cap skewed sources and split off a
stratified validation set. Everything is deterministic for a given seed (``README.md`` in this
package documents the recipe)."""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from aupguard.models import HEAD_CATEGORIES
from aupguard.text.normalize import normalize

__all__ = [
    "CROSSLINGUAL_FILE",
    "SOURCES",
    "DataError",
    "Row",
    "SourceConfig",
    "SourceFile",
    "file_sha256",
    "load_rows",
    "split_rows",
]

#: the parallel seven-language set in ``data/examples``: measured on, never trained on
CROSSLINGUAL_FILE: Final = "crosslingual.jsonl"
#: texts longer than this cannot be checked (the moderator's default input limit): not trained on
MAX_TEXT_CHARS: Final = 20_000


class DataError(ValueError):
    """A training file is unusable; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """How one source file enters training."""

    weight: float = 1.0  # sample weight of each of its rows
    cap_benign: int | None = None  # keep at most this many unflagged rows (seeded choice)
    cap_flagged: int | None = None  # keep at most this many flagged rows (seeded choice)
    family: str | None = None  # parallel files share a family (and split groups)
    note: str = ""


#: per-source settings; a file not listed here enters with the defaults (weight 1, no cap)
SOURCES: Final[Mapping[str, SourceConfig]] = {
    "benign_banking77": SourceConfig(cap_benign=2000, note="13k short banking requests"),
    "benign_clinc150": SourceConfig(cap_benign=3000, note="24k short assistant requests"),
    "coco_train": SourceConfig(cap_benign=4000, note="27k captions; the rest is held out"),
    "benign_cmrc2018_zh": SourceConfig(cap_benign=2500, note="benign Chinese questions"),
    "cold_train": SourceConfig(cap_benign=6500, cap_flagged=6500, note="25k Chinese comments"),
    "davidson": SourceConfig(cap_benign=6000, note="all 1.4k hate tweets, 6k of the rest"),
    "i2p_train": SourceConfig(weight=0.5, note="labels describe generated images"),
    "nibbler_train": SourceConfig(weight=0.5, note="labels describe generated images"),
    "catqa_en": SourceConfig(family="catqa"),
    "catqa_zh": SourceConfig(family="catqa"),
}

#: categories with too little data for a head of their own go to a parent
FOLD: Final[Mapping[str, tuple[str, ...]]] = {
    "extremism": ("violence",),
    "violence/animal-cruelty": ("violence",),
    "sexual/non-consensual": ("sexual",),
}

# catqa's (category, sub) pairs whose given category is wrong or too coarse
_CATQA_SUB: Final[Mapping[str, tuple[str, ...]]] = {
    "Drug:": ("drugs",),
    "Weapon:": ("weapons",),
    "Weapon making": ("weapons",),
    "Self-harm": ("self-harm",),
    "Physical abuse": ("violence",),  # of a child, not sexual: catqa files it under minors
    "Emotional and psychological abuse": (),  # flagged, category unknown
    "Neglect": (),
    "Content Sexual exploitation": ("sexual/minors",),
    "Online predation": ("sexual/minors",),
    "Racial or ethnic hate": ("hate",),
    "Religious intolerance": ("hate",),
    "Gender-based violence": ("hate", "violence"),
    "Cyberbullying": ("harassment",),
    "Terrorism and extremism": ("extremism",),
    "Intellectual property theft": ("intellectual-property",),
    "Deepfake creation": ("impersonation",),
    "Surveillance": ("surveillance",),
    "Tracking and location monitoring": ("privacy", "surveillance"),
    "Political misinformation": ("disinformation", "elections"),
}

#: sources whose labels describe the images a prompt produced, not the prompt's request
IMAGE_LABELLED_SOURCES: Final = frozenset({"i2p_train", "nibbler_train"})

_XSAFETY: Final[Mapping[str, tuple[bool, tuple[str, ...]]]] = {
    "Crimes_And_Illegal_Activities": (True, ("illicit",)),
    "Goal_Hijacking": (True, ("circumvention",)),
    "Insult": (True, ("harassment",)),
    "Unfairness_And_Discrimination": (True, ("hate",)),
    "Unsafe_Instruction_Topic": (True, ()),
    "Ethics_And_Morality": (False, ()),
    "commonsense": (False, ()),
}

_FORBIDDEN_QUESTIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "Illegal Activity": ("illicit",),
    "Hate Speech": ("hate",),
    "Malware": ("malware",),
    "Physical Harm": ("violence",),
    "Economic Harm": ("fraud",),  # multi-level marketing, gambling, payday loans
    "Fraud": ("fraud",),
    "Pornography": ("sexual",),
    "Political Lobbying": ("elections",),
    "Privacy Violence": ("privacy",),
    "Legal Opinion": ("regulated-advice/legal",),
    "Financial Advice": ("regulated-advice/financial",),
    "Health Consultation": ("regulated-advice/medical",),
    "Gov Decision": ("illicit",),
}

_STRONGREJECT: Final[Mapping[str, tuple[str, ...]]] = {
    "Disinformation and deception": ("disinformation",),
    "Illegal goods and services": ("illicit",),
    "Non-violent crimes": ("illicit",),
    "Sexual content": ("sexual",),
    "Violence": ("violence",),
}


@dataclass(frozen=True, slots=True)
class Row:
    """One training text. ``categories`` are head categories (possibly empty for a flagged row
    whose category is unknown); ``neutral`` lists heads this row is neither a positive nor a
    negative for."""

    text: str
    norm: str
    flagged: bool
    categories: frozenset[str]
    source: str
    weight: float
    group: str
    neutral: frozenset[str] = frozenset()
    labelled_by: str = "data"  # "data" or "lexicon" (categories proposed by the lexicon)
    #: rows of its (source, flagged) group before capping / rows kept: calibration weighs a
    #: row by this so it sees each source's real class balance, not the capped one
    inverse_rate: float = 1.0


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file that was read, for the manifest."""

    path: Path
    sha256: str
    rows_read: int
    rows_used: int = 0


@dataclass
class LoadedData:
    rows: list[Row]
    files: list[SourceFile]
    dropped: dict[str, int] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def seeded_key(seed: int, key: str) -> str:
    """A stable pseudo-random order for ``key`` under ``seed``."""
    return hashlib.sha256(f"{seed}\x00{key}".encode()).hexdigest()


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise DataError(f"{path}:{lineno}: not a JSON object ({exc})") from None
            if (
                not isinstance(obj, dict)
                or not isinstance(obj.get("text"), str)
                or not isinstance(obj.get("flagged"), bool)
            ):
                raise DataError(f"{path}:{lineno}: needs a string 'text' and a boolean 'flagged'")
            yield lineno, obj


def _fold(categories: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for c in categories:
        if c in FOLD:
            out.update(FOLD[c])
        elif c in HEAD_CATEGORIES:
            out.add(c)
    return frozenset(out)


def map_labels(source: str, obj: Mapping[str, Any]) -> tuple[bool, frozenset[str]]:
    """(flagged, head categories) of one record: the ``categories`` field, refined by the
    source's own labels in ``meta`` where those are finer or more accurate."""
    flagged: bool = obj["flagged"]
    cats: tuple[str, ...] = tuple(obj.get("categories") or ())
    meta = obj.get("meta") or {}
    if source == "xsafety" and meta.get("scenario") in _XSAFETY:
        flagged, cats = _XSAFETY[meta["scenario"]]
    elif source.startswith("catqa") and meta.get("sub") in _CATQA_SUB:
        cats = _CATQA_SUB[meta["sub"]]
    elif source == "forbidden_questions" and meta.get("scenario") in _FORBIDDEN_QUESTIONS:
        cats = _FORBIDDEN_QUESTIONS[meta["scenario"]]
    elif source == "strongreject" and meta.get("category") in _STRONGREJECT:
        cats = _STRONGREJECT[meta["category"]]
    if source in IMAGE_LABELLED_SOURCES:
        # these labels describe the generated image: violence shown, not violence promoted
        cats = tuple("violence/graphic" if c == "violence" else c for c in cats)
    return flagged, (_fold(cats) if flagged else frozenset())


def _group(source: str, config: SourceConfig, lineno: int, obj: Mapping[str, Any]) -> str:
    meta = obj.get("meta") or {}
    if source == "xsafety" and "row" in meta:
        # the nine translations of one prompt share a group (and so a split)
        return f"xsafety:{meta.get('scenario')}:{meta['row']}"
    if source.startswith("examples/") and isinstance(meta.get("group"), str) and meta["group"]:
        # our parallel examples (multilingual.jsonl): the translations of one prompt
        return f"{source}:{meta['group']}"
    return f"{config.family or source}:{lineno}"


def _neutral_heads(source: str, obj: Mapping[str, Any]) -> frozenset[str]:
    meta = obj.get("meta") or {}
    if source == "davidson" and meta.get("offensive"):
        # offensive but not hateful tweets: not a violation, but not evidence against insults
        return frozenset({"harassment"})
    return frozenset()


def _row_weight(source: str, config: SourceConfig, obj: Mapping[str, Any]) -> float:
    meta = obj.get("meta") or {}
    if source == "davidson" and meta.get("offensive"):
        return 0.5 * config.weight
    return config.weight


def exclusion_texts(paths: Iterable[Path]) -> set[str]:
    """Normalised texts of every JSONL record under ``paths`` (files or directories)."""
    out: set[str] = set()
    for path in paths:
        files = sorted(path.glob("*.jsonl")) if path.is_dir() else [path]
        for f in files:
            for _, obj in _read_jsonl(f):
                out.add(normalize(obj["text"]).text)
    return out


def _cap(rows: list[Row], cap: int | None, seed: int) -> list[Row]:
    if cap is None or len(rows) <= cap:
        return rows
    ranked = sorted(rows, key=lambda r: seeded_key(seed, r.group + "\x00" + r.norm))
    keep = {id(r) for r in ranked[:cap]}
    rate = len(rows) / cap
    return [replace(r, inverse_rate=r.inverse_rate * rate) for r in rows if id(r) in keep]


def load_rows(
    data_dir: Path,
    examples_dir: Path | None,
    *,
    seed: int,
    exclude: Iterable[Path] = (),
    per_stratum_limit: int | None = None,
    sources: Mapping[str, SourceConfig] = SOURCES,
) -> LoadedData:
    """Read every ``*.jsonl`` in ``data_dir`` and ``examples_dir`` (except
    ``crosslingual.jsonl``), map labels, cap, drop texts found in ``exclude`` and
    de-duplicate on the normalised text (a text flagged anywhere stays flagged, with the union
    of its categories)."""
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: not a directory of JSONL files")
    files = sorted(data_dir.glob("*.jsonl"))
    if examples_dir is not None:
        if not examples_dir.is_dir():
            raise DataError(f"{examples_dir}: not a directory of JSONL files")
        files += sorted(p for p in examples_dir.glob("*.jsonl") if p.name != CROSSLINGUAL_FILE)
    if not files:
        raise DataError(f"{data_dir}: no *.jsonl files")
    excluded_paths = list(exclude)
    if examples_dir is not None and (examples_dir / CROSSLINGUAL_FILE).exists():
        excluded_paths.append(examples_dir / CROSSLINGUAL_FILE)
    excluded = exclusion_texts(excluded_paths)

    dropped: dict[str, int] = defaultdict(int)
    read: list[SourceFile] = []
    kept: list[Row] = []
    for path in files:
        is_example = examples_dir is not None and path.parent == examples_dir
        source = f"examples/{path.stem}" if is_example else path.stem
        config = sources.get(source, SourceConfig())
        rows: list[Row] = []
        n_read = 0
        for lineno, obj in _read_jsonl(path):
            n_read += 1
            text = obj["text"]
            if not text.strip() or len(text) > MAX_TEXT_CHARS:
                dropped["empty or over the input limit"] += 1
                continue
            norm = normalize(text).text
            if norm in excluded:
                dropped["also an evaluation text"] += 1
                continue
            flagged, cats = map_labels(source, obj)
            rows.append(
                Row(
                    text=text,
                    norm=norm,
                    flagged=flagged,
                    categories=cats,
                    source=source,
                    weight=_row_weight(source, config, obj),
                    group=_group(source, config, lineno, obj),
                    neutral=_neutral_heads(source, obj),
                )
            )
        flagged_rows = _cap([r for r in rows if r.flagged], config.cap_flagged, seed)
        benign_rows = _cap([r for r in rows if not r.flagged], config.cap_benign, seed)
        if per_stratum_limit is not None:  # quick runs: a few rows of every label of a source
            strata: dict[str, list[Row]] = defaultdict(list)
            for r in flagged_rows + benign_rows:
                strata[f"{int(r.flagged)}|{min(r.categories) if r.categories else ''}"].append(r)
            kept_ids = {
                id(r) for k in sorted(strata) for r in _cap(strata[k], per_stratum_limit, seed)
            }
            flagged_rows = [r for r in flagged_rows if id(r) in kept_ids]
            benign_rows = [r for r in benign_rows if id(r) in kept_ids]
        capped = len(rows) - len(flagged_rows) - len(benign_rows)
        if capped:
            dropped[f"capped: {source}"] += capped
        kept += flagged_rows + benign_rows
        read.append(SourceFile(path=path, sha256=file_sha256(path), rows_read=n_read))

    merged: dict[str, Row] = {}
    for row in kept:
        prev = merged.get(row.norm)
        if prev is None:
            merged[row.norm] = row
            continue
        dropped["duplicate"] += 1
        merged[row.norm] = replace(
            prev,
            flagged=prev.flagged or row.flagged,
            categories=prev.categories | row.categories,
            weight=max(prev.weight, row.weight),
            neutral=prev.neutral & row.neutral,
            inverse_rate=max(prev.inverse_rate, row.inverse_rate),
        )
    rows_out = list(merged.values())
    used: dict[str, int] = defaultdict(int)
    for r in rows_out:
        used[r.source] += 1
    files_out = []
    for f in read:
        is_example = examples_dir is not None and f.path.parent == examples_dir
        name = f"examples/{f.path.stem}" if is_example else f.path.stem
        files_out.append(replace(f, rows_used=used.get(name, 0)))
    return LoadedData(rows=rows_out, files=files_out, dropped=dict(dropped))


def _stratum(row: Row, sources: Mapping[str, SourceConfig]) -> str:
    config = sources.get(row.source, SourceConfig())
    family = config.family or row.source
    return f"{family}|{int(row.flagged)}|{min(row.categories) if row.categories else ''}"


def split_rows(
    rows: list[Row],
    *,
    seed: int,
    fraction: float = 0.15,
    sources: Mapping[str, SourceConfig] = SOURCES,
) -> tuple[list[Row], list[Row]]:
    """(train, validation): within each stratum (source family × flagged × first category) a
    seeded ``fraction`` of the groups goes to validation; the translations of one prompt
    (a group) never straddle the split."""
    group_stratum: dict[str, str] = {}
    for r in rows:
        group_stratum.setdefault(r.group, _stratum(r, sources))
    by_stratum: dict[str, list[str]] = defaultdict(list)
    for g, s in group_stratum.items():
        by_stratum[s].append(g)
    val_groups: set[str] = set()
    for s in sorted(by_stratum):
        groups = sorted(by_stratum[s], key=lambda g: seeded_key(seed, g))
        n_val = math.floor(fraction * len(groups) + 0.5)
        if n_val == 0 and len(groups) >= 4:
            n_val = 1
        val_groups.update(groups[:n_val])
    train = [r for r in rows if r.group not in val_groups]
    val = [r for r in rows if r.group in val_groups]
    return train, val


#: categories the lexicon may add to a flagged row whose own label is unknown or broad
ASSIST_CATEGORIES: Final = frozenset({"weapons", "drugs", "malware", "self-harm", "sexual", "hate"})
#: a flagged row labelled only with these (or nothing) gets lexicon-assisted categories
BROAD_CATEGORIES: Final = frozenset({"illicit", "violence"})
ASSIST_MIN_SCORE: Final = 0.8


def assist_labels(
    rows: list[Row], scorer: Callable[[str], Mapping[str, float]]
) -> tuple[list[Row], int]:
    """Lexicon-assisted labels: a flagged row whose category is unknown or broad (illicit,
    violence) gets every category of ``ASSIST_CATEGORIES`` the lexicon scores at least
    ``ASSIST_MIN_SCORE`` on it or on another row of its group (the translations of an XSafety
    prompt, the English/Chinese pair of a CatQA question). ``scorer`` maps an original text to
    category scores. Returns the rows and how many gained a category."""
    eligible = [r.flagged and r.categories <= BROAD_CATEGORIES for r in rows]
    found: dict[str, set[str]] = defaultdict(set)
    for r, ok in zip(rows, eligible, strict=True):
        if ok:
            scores = scorer(r.text)
            found[r.group].update(
                c for c in ASSIST_CATEGORIES if scores.get(c, 0.0) >= ASSIST_MIN_SCORE
            )
    out: list[Row] = []
    changed = 0
    for r, ok in zip(rows, eligible, strict=True):
        extra = frozenset(found.get(r.group, ())) - r.categories
        if ok and extra:
            out.append(replace(r, categories=r.categories | extra, labelled_by="lexicon"))
            changed += 1
        else:
            out.append(r)
    return out, changed


#: for each head, the categories whose rows are neither positives nor negatives for it
#: (overlapping or loosely labelled neighbours). Flagged rows of any other category are
#: negatives, so heads learn to tell topics apart; unflagged rows are negatives for every head.
NEUTRAL: Final[Mapping[str, frozenset[str]]] = {
    # adult sexual content only: rows sexualising minors are negatives (sexual/minors has its
    # own head and every pack a stricter clause for it), as are merely suggestive rows
    "sexual": frozenset(),
    "sexual/suggestive": frozenset({"sexual", "sexual/minors"}),
    "sexual/minors": frozenset(),
    "violence": frozenset({"weapons", "weapons/military", "self-harm", "harassment"}),
    "violence/graphic": frozenset({"violence", "self-harm"}),
    "self-harm": frozenset({"violence", "violence/graphic", "regulated-advice/medical"}),
    "hate": frozenset({"harassment"}),
    "harassment": frozenset({"hate", "violence"}),
    "weapons": frozenset({"weapons/military", "violence", "illicit", "critical-infrastructure"}),
    "weapons/military": frozenset({"weapons", "violence", "surveillance"}),
    "drugs": frozenset({"illicit", "regulated-advice/medical"}),
    "illicit": frozenset(
        {
            "drugs",
            "weapons",
            "malware",
            "fraud",
            "privacy",
            "surveillance",
            "critical-infrastructure",
            "intellectual-property",
            "impersonation",
            "crypto-mining",
            "violence",
            "sexual/minors",
        }
    ),
    "malware": frozenset(
        {"illicit", "privacy", "critical-infrastructure", "fraud", "crypto-mining"}
    ),
    "critical-infrastructure": frozenset({"malware", "illicit", "weapons"}),
    "fraud": frozenset(
        {"illicit", "disinformation", "impersonation", "academic-dishonesty", "privacy", "malware"}
    ),
    "academic-dishonesty": frozenset({"fraud"}),
    "disinformation": frozenset({"fraud", "elections", "impersonation", "manipulation"}),
    "elections": frozenset({"disinformation", "impersonation", "manipulation"}),
    "impersonation": frozenset({"fraud", "disinformation", "elections", "privacy"}),
    "privacy": frozenset(
        {"surveillance", "privacy/biometric", "illicit", "malware", "fraud", "impersonation"}
    ),
    "privacy/biometric": frozenset({"privacy", "surveillance"}),
    "surveillance": frozenset({"privacy", "privacy/biometric", "weapons/military", "manipulation"}),
    "manipulation": frozenset({"disinformation", "elections", "surveillance"}),
    "intellectual-property": frozenset({"illicit", "fraud"}),
    "regulated-advice/medical": frozenset({"drugs", "self-harm"}),
    "regulated-advice/legal": frozenset(),
    "regulated-advice/financial": frozenset(),
    "crypto-mining": frozenset({"malware"}),
    "circumvention": frozenset(),
}


def targets(
    rows: Sequence[Row], heads: Sequence[str], flagged_head: str
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(0/1 targets, sample weights) with one column per head. For a category head a row is a
    positive when it carries the category; a negative when it is unflagged, or flagged with
    other categories none of which is neutral for the head; otherwise left out (weight 0):
    flagged rows of unknown category, jailbreak (circumvention) rows for the other heads —
    a jailbreak wraps requests of every kind — and rows a head lists as neutral. The flagged
    head takes every row."""
    y = np.zeros((len(rows), len(heads)), dtype=np.float32)
    w = np.zeros((len(rows), len(heads)), dtype=np.float32)
    for i, r in enumerate(rows):
        for j, head in enumerate(heads):
            if head == flagged_head:
                y[i, j] = float(r.flagged)
                w[i, j] = r.weight
            elif head in r.neutral:
                continue
            elif head in r.categories:
                y[i, j] = 1.0
                w[i, j] = r.weight
            elif not r.flagged or (
                r.categories
                and "circumvention" not in r.categories
                and not (r.categories & NEUTRAL.get(head, frozenset()))
            ):
                w[i, j] = r.weight
    return y, w
