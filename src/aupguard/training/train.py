"""``aupguard train``: fit the text classifier and write its artifacts (see ``README.md``)."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from aupguard.models import FLAGGED_HEAD, HEAD_CATEGORIES
from aupguard.models.classifier import (
    CALIBRATION_FILE,
    DIRECT_FEATURES,
    FLAGGED_FEATURES,
    FORMAT_VERSION,
    HEADS_FILE,
    MANIFEST_FILE,
    NGRAMS_FILE,
    Calibration,
    TextClassifierModel,
    sha256_file,
)
from aupguard.models.ngrams import MAX_CHARS, NGramHasher, ngram_view_of
from aupguard.training.data import (
    Row,
    assist_labels,
    load_rows,
    seeded_key,
    split_rows,
    targets,
)
from aupguard.training.deps import require_scipy
from aupguard.training.logistic import fit_heads, fit_stacker

__all__ = ["TrainConfig", "TrainResult", "TrainingError", "train"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Log = Callable[[str], None]

#: languages whose text gets the full calibrations (n-gram heads and lexicon features); the
#: lexicon has term lists for these two, and nearly all n-gram training data is in them
FULL_LANGUAGES: Final = ("en", "zh")


class TrainingError(RuntimeError):
    """Training cannot produce a usable model (too little data for a head, bad inputs)."""


@dataclass(frozen=True)
class TrainConfig:
    data_dir: Path
    out_dir: Path
    examples_dir: Path | None = None
    exclude: tuple[Path, ...] = ()
    seed: int = 0
    quick: bool = False
    command: str = ""
    validation_fraction: float = 0.15
    ngram_bits: int = 18
    embedding_l2: float = 1e-5
    ngram_l2: float = 3e-6
    embedding_max_iter: int = 300
    ngram_max_iter: int = 200
    #: a category head needs at least this many positive training rows (else training fails)
    min_positives: int = 20
    #: a category gets an n-gram head of its own with at least this many positive rows
    ngram_min_positives: int = 150
    #: positives are up-weighted to at least this share of a head's negative weight
    positive_share: float = 0.3
    #: pull of each category's calibration towards the pooled one (pseudo-observations)
    calibration_strength: float = 5.0
    conditional_l2: float = 1e-4
    #: quick runs: at most this many rows per (source, flagged, category) stratum
    per_stratum_limit: int | None = None
    #: an .npz of embeddings from earlier runs (keyed by text hash and backbone version)
    embedding_cache: Path | None = None

    @classmethod
    def quick_config(cls, **kwargs: Any) -> TrainConfig:
        """A small, fast run for smoke tests: ≤ 40 rows per label of a source, 2**16 buckets,
        short fits, one positive per head suffices."""
        base = cls(**kwargs)
        return replace(
            base,
            quick=True,
            per_stratum_limit=40,
            ngram_bits=16,
            embedding_max_iter=60,
            ngram_max_iter=40,
            min_positives=1,
            ngram_min_positives=40,
        )


@dataclass
class TrainResult:
    out_dir: Path
    manifest: dict[str, Any]
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def _write_npz(path: Path, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
    """An ``.npz`` whose bytes depend only on the arrays (fixed zip timestamps and order)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=6)


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False, sort_keys=False) + "\n")


def _ngram_matrix(hasher: NGramHasher, texts: Sequence[str]) -> Any:
    sparse = require_scipy().sparse
    indices: list[npt.NDArray[np.int64]] = []
    values: list[F32] = []
    indptr = [0]
    for t in texts:
        b, v = hasher.features(t)
        indices.append(b)
        values.append(v)
        indptr.append(indptr[-1] + len(b))
    return sparse.csr_matrix(
        (
            np.concatenate(values) if values else np.zeros(0, np.float32),
            np.concatenate(indices) if indices else np.zeros(0, np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(texts), hasher.dim),
        dtype=np.float32,
    )


def _balance(y: F32, w: F32, share: float) -> F32:
    """Up-weight each head's positives to at least ``share`` of its negative weight."""
    out = w.copy()
    for j in range(y.shape[1]):
        pos = float((y[:, j] * w[:, j]).sum())
        neg = float(((1 - y[:, j]) * w[:, j]).sum())
        if pos > 0 and pos < share * neg:
            out[:, j] = np.where(y[:, j] > 0, w[:, j] * (share * neg / pos), w[:, j])
    return out


def _average_precision(y: F64, s: F64) -> float | None:
    if y.sum() == 0:
        return None
    order = np.argsort(-s, kind="stable")
    ys = y[order]
    tp = np.cumsum(ys)
    precision = tp / np.arange(1, len(ys) + 1)
    return float((precision * ys).sum() / ys.sum())


def _prf(y: F64, pred: npt.NDArray[np.bool_]) -> dict[str, float | int | None]:
    tp = int(np.sum(pred & (y > 0)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y > 0)))
    tn = int(np.sum(~pred & (y == 0)))
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else None
    fpr = fp / (fp + tn) if fp + tn else None

    def rnd(v: float | None) -> float | None:
        return None if v is None else round(v, 4)

    return {
        "n": tp + fp + fn + tn,
        "positives": tp + fn,
        "precision": rnd(p),
        "recall": rnd(r),
        "f1": rnd(f1),
        "fpr": rnd(fpr),
    }


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class _ValFeatures:
    """Validation inputs of the calibrations."""

    ze: F64  # (rows, categories + 1) embedding logits, the flagged head last
    zn: F64  # (rows, categories) n-gram logits (0 for categories without an n-gram head)
    zn_flag: F64  # (rows,)
    zc: F64  # (rows, categories) conditional-head logits
    lex: F64  # (rows, categories)
    full: npt.NDArray[np.bool_]  # rows in a FULL_LANGUAGES language
    y: F64  # (rows, categories) one-vs-rest targets
    w: F64  # (rows, categories) weights, 0 = not used for that category
    flagged: F64  # (rows,)
    weight: F64  # (rows,) row weights


@dataclass(frozen=True)
class _Calibrations:
    direct_full: Calibration
    direct_embedding: Calibration
    flagged_full: Calibration
    flagged_embedding: Calibration
    conditional: Calibration
    pooled_full: F64
    pooled_embedding: F64


def _fit_direct(
    feats: F64, y: F64, w: F64, rows: npt.NDArray[np.int64], strength: float
) -> tuple[Calibration, F64]:
    """Per-category stacked Platt scaling, each category pulled towards a pooled fit in which
    every category has the same total weight. ``feats`` is (rows, categories, features)."""
    n_cat, k = feats.shape[1], feats.shape[2]
    nonneg = (True,) * k
    xs, ys, ws = [], [], []
    for j in range(n_cat):
        m = rows[w[rows, j] > 0]
        if len(m) and y[m, j].sum() > 0:
            xs.append(feats[m, j, :])
            ys.append(y[m, j])
            ws.append(w[m, j] / w[m, j].sum() * 1000.0)
    pooled = fit_stacker(
        np.concatenate(xs),
        np.concatenate(ys),
        np.concatenate(ws),
        prior=np.zeros(k + 1),
        strength=1e-3,
        nonneg=nonneg,
    )
    coef = np.zeros((n_cat, k + 1))
    for j in range(n_cat):
        m = rows[w[rows, j] > 0]
        if not len(m) or y[m, j].sum() == 0:
            coef[j] = pooled
            continue
        coef[j] = fit_stacker(
            feats[m, j, :], y[m, j], w[m, j], prior=pooled, strength=strength, nonneg=nonneg
        )
    return Calibration(coef=coef[:, :-1], bias=coef[:, -1]), pooled


def _fit_flagged(feats: F64, y: F64, w: F64) -> Calibration:
    k = feats.shape[1]
    coef = fit_stacker(feats, y, w, prior=np.zeros(k + 1), strength=1e-3, nonneg=(True,) * k)
    return Calibration(coef=coef[None, :-1], bias=coef[-1:])


def _fit_calibrations(
    v: _ValFeatures, rows: npt.NDArray[np.int64], strength: float
) -> _Calibrations:
    n_cat = v.y.shape[1]
    full_rows = rows[v.full[rows]]
    direct_feats = np.stack([v.ze[:, :n_cat], v.zn, v.lex], axis=-1)
    direct_full, pooled_full = _fit_direct(direct_feats, v.y, v.w, full_rows, strength)
    direct_emb, pooled_emb = _fit_direct(v.ze[:, :n_cat, None], v.y, v.w, rows, strength)
    flag_feats = np.stack([v.ze[:, n_cat], v.zn_flag, v.lex.max(axis=1)], axis=-1)
    flagged_full = _fit_flagged(flag_feats[full_rows], v.flagged[full_rows], v.weight[full_rows])
    flagged_emb = _fit_flagged(v.ze[rows, n_cat, None], v.flagged[rows], v.weight[rows])
    # P(category | flagged): flagged rows of known category only, like the conditional heads
    known = rows[(v.flagged[rows] > 0) & (v.y[rows].sum(axis=1) > 0)]
    conditional, _ = _fit_direct(v.zc[:, :, None], v.y, v.w, known, strength)
    return _Calibrations(
        direct_full, direct_emb, flagged_full, flagged_emb, conditional, pooled_full, pooled_emb
    )


def _calibration_json(c: Calibration, j: int) -> dict[str, Any]:
    return {"coef": [round(float(x), 6) for x in c.coef[j]], "bias": round(float(c.bias[j]), 6)}


def _validation_report(
    val: Sequence[Row],
    v: _ValFeatures,
    model_for: Callable[[_Calibrations], TextClassifierModel],
    inputs: tuple[F32, list[str], list[dict[str, float]], list[str]],
    categories: Sequence[str],
    seed: int,
    strength: float,
    folds: int = 5,
) -> dict[str, Any]:
    """Cross-fitted figures on the validation split: each fold's probabilities come from
    calibrations fitted on the other folds and are computed exactly as at run time."""
    n = len(val)
    fold_of = np.array(
        [int(seeded_key(seed + 1, r.group)[:8], 16) % folds for r in val], dtype=np.int64
    )
    emb, texts, lex, langs = inputs
    probs = np.zeros((n, len(categories)))
    for f in range(folds):
        fit_rows = np.flatnonzero(fold_of != f)
        test = np.flatnonzero(fold_of == f)
        if not len(test):
            continue
        model = model_for(_fit_calibrations(v, fit_rows, strength))
        probs[test] = model.scores(
            emb[test], [texts[i] for i in test], [lex[i] for i in test], [langs[i] for i in test]
        )["probability"]
    per_cat: dict[str, Any] = {}
    for j, cat in enumerate(categories):
        m = v.w[:, j] > 0
        y, p = v.y[m, j], probs[m, j]
        ap = _average_precision(y, p)
        per_cat[cat] = {
            "positives": int(y.sum()),
            "average_precision": None if ap is None else round(ap, 4),
            "at_0.5": _prf(y, p >= 0.5),
            "at_0.8": _prf(y, p >= 0.8),
        }
    any_review = probs.max(axis=1) >= 0.5
    by_lang = {
        lang: _prf(v.flagged[m], any_review[m])
        for lang in sorted(set(langs))
        if (m := np.array([x == lang for x in langs])).sum() >= 20
    }
    by_source = {
        src: _prf(v.flagged[m], any_review[m])
        for src in sorted({r.source for r in val})
        if (m := np.array([r.source == src for r in val])).any()
    }
    aps = [c["average_precision"] for c in per_cat.values() if c["average_precision"] is not None]
    return {
        "method": f"{folds}-fold cross-fitted calibrations on the validation split",
        "rows": n,
        "flagged_any_category_at_0.5": _prf(v.flagged, any_review),
        "mean_average_precision": round(float(np.mean(aps)), 4) if aps else None,
        "categories": per_cat,
        "by_language": by_lang,
        "by_source": by_source,
    }


# --------------------------------------------------------------------------- training


def train(config: TrainConfig, log: Log = lambda s: None) -> TrainResult:
    started = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - since, 2)
        return now

    require_scipy()
    from aupguard.detectors.base import ScanItem
    from aupguard.detectors.lexicon import LexiconDetector
    from aupguard.embeddings import get_embedder
    from aupguard.text.lang import detect_language

    t = time.perf_counter()
    loaded = load_rows(
        config.data_dir,
        config.examples_dir,
        seed=config.seed,
        exclude=config.exclude,
        per_stratum_limit=config.per_stratum_limit,
    )
    lexicon = LexiconDetector()
    lex_cache: dict[str, dict[str, float]] = {}

    def lex_scores(text: str) -> dict[str, float]:
        got = lex_cache.get(text)
        if got is None:
            got = dict(lexicon.scan(ScanItem(text)).scores)
            lex_cache[text] = got
        return got

    rows, n_assisted = assist_labels(loaded.rows, lex_scores)
    rows.sort(key=lambda r: seeded_key(config.seed, r.group + "\x00" + r.norm))
    train_rows, val_rows = split_rows(rows, seed=config.seed, fraction=config.validation_fraction)
    log(
        f"data: {len(rows)} rows after de-duplication and caps ({len(train_rows)} train, "
        f"{len(val_rows)} validation); {n_assisted} flagged rows got lexicon-assisted categories"
    )
    t = lap("data", t)

    categories = list(HEAD_CATEGORIES)
    n_cat = len(categories)
    heads = [*categories, FLAGGED_HEAD]
    y_tr, w_tr = targets(train_rows, heads, FLAGGED_HEAD)
    y_va, w_va = targets(val_rows, heads, FLAGGED_HEAD)
    positives = {
        h: {"train": int(y_tr[:, j].sum()), "validation": int(y_va[:, j].sum())}
        for j, h in enumerate(heads)
    }
    thin = [h for h in categories if positives[h]["train"] < config.min_positives]
    if thin:
        raise TrainingError(
            "too few positive training rows for "
            + ", ".join(f"{h} ({positives[h]['train']})" for h in thin)
            + f"; each head needs {config.min_positives} (add labelled examples)"
        )
    ngram_heads = [h for h in categories if positives[h]["train"] >= config.ngram_min_positives] + [
        FLAGGED_HEAD
    ]

    embedder = get_embedder()
    texts = [r.norm for r in rows]
    log(f"embedding {len(texts)} texts with {embedder.name} ({embedder.version})")
    vectors = _embed(embedder, texts, config.embedding_cache, log)
    index = {id(r): i for i, r in enumerate(rows)}
    e_tr = vectors[[index[id(r)] for r in train_rows]]
    e_va = vectors[[index[id(r)] for r in val_rows]]
    t = lap("embedding", t)

    hasher = NGramHasher(config.ngram_bits)
    x_tr = _ngram_matrix(hasher, [ngram_view_of(r.norm) for r in train_rows])
    x_va = _ngram_matrix(hasher, [ngram_view_of(r.norm) for r in val_rows])
    t = lap("ngram_features", t)

    log(f"fitting {len(heads)} embedding heads and {n_cat} conditional heads")
    emb = fit_heads(
        e_tr,
        y_tr,
        _balance(y_tr, w_tr, config.positive_share),
        l2=config.embedding_l2,
        max_iter=config.embedding_max_iter,
    )
    # conditional heads: flagged rows of known category only ("which category, if refused?")
    known = np.array([r.flagged and bool(r.categories) for r in train_rows])
    y_c, w_c = y_tr[known, :n_cat], w_tr[known, :n_cat]
    cond = fit_heads(
        e_tr[known],
        y_c,
        _balance(y_c, w_c, config.positive_share),
        l2=config.conditional_l2,
        max_iter=config.embedding_max_iter,
    )
    t = lap("embedding_heads", t)
    ng_cols = [heads.index(h) for h in ngram_heads]
    log(f"fitting {len(ngram_heads)} n-gram heads over 2**{config.ngram_bits} buckets")
    ng = fit_heads(
        x_tr,
        y_tr[:, ng_cols],
        _balance(y_tr[:, ng_cols], w_tr[:, ng_cols], config.positive_share),
        l2=config.ngram_l2,
        max_iter=config.ngram_max_iter,
    )
    ngram_w16 = ng.weights.astype(np.float16)
    t = lap("ngram_heads", t)

    # validation inputs, computed exactly as at run time (float16 n-gram weights)
    val_texts = [ngram_view_of(r.norm) for r in val_rows]
    val_lex = [lex_scores(r.text) for r in val_rows]
    val_langs = [detect_language(r.norm) for r in val_rows]
    ze = (e_va @ emb.weights + emb.bias).astype(np.float64)
    zn_all = (np.asarray(x_va @ ngram_w16.astype(np.float32)) + ng.bias).astype(np.float64)
    zn = np.zeros((len(val_rows), n_cat))
    for k, h in enumerate(ngram_heads):
        if h != FLAGGED_HEAD:
            zn[:, categories.index(h)] = zn_all[:, k]
    # calibration sees every source's real class balance: a row of a capped source counts
    # for the rows the cap left out
    undo_caps = np.array([r.inverse_rate for r in val_rows], dtype=np.float64)
    vf = _ValFeatures(
        ze=ze,
        zn=zn,
        zn_flag=zn_all[:, ngram_heads.index(FLAGGED_HEAD)],
        zc=(e_va @ cond.weights + cond.bias).astype(np.float64),
        lex=np.array([[lex.get(c, 0.0) for c in categories] for lex in val_lex]).reshape(
            len(val_rows), n_cat
        ),
        full=np.array([lang in FULL_LANGUAGES for lang in val_langs], dtype=bool),
        y=y_va[:, :n_cat].astype(np.float64),
        w=w_va[:, :n_cat].astype(np.float64) * undo_caps[:, None],
        flagged=np.array([float(r.flagged) for r in val_rows]),
        weight=np.array([r.weight for r in val_rows], dtype=np.float64) * undo_caps,
    )

    def model_for(
        c: _Calibrations, manifest: Mapping[str, Any] | None = None
    ) -> TextClassifierModel:
        # validation figures describe the calibration itself, before the deployment prior
        return TextClassifierModel(
            apply_prior_shift=False,
            directory=config.out_dir,
            categories=tuple(categories),
            embedding_weights=emb.weights.astype(np.float32),
            embedding_bias=emb.bias.astype(np.float32),
            conditional_weights=cond.weights.astype(np.float32),
            conditional_bias=cond.bias.astype(np.float32),
            ngram_heads=tuple(ngram_heads),
            ngram_weights=ngram_w16,
            ngram_bias=ng.bias.astype(np.float32),
            hasher=hasher,
            direct_full=c.direct_full,
            direct_embedding=c.direct_embedding,
            flagged_full=c.flagged_full,
            flagged_embedding=c.flagged_embedding,
            conditional=c.conditional,
            full_languages=frozenset(FULL_LANGUAGES),
            backbone=embedder.name,
            manifest=manifest or {},
        )

    all_rows = np.arange(len(val_rows), dtype=np.int64)
    cal = _fit_calibrations(vf, all_rows, config.calibration_strength)
    report = _validation_report(
        val_rows,
        vf,
        model_for,
        (e_va, val_texts, val_lex, val_langs),
        categories,
        config.seed,
        config.calibration_strength,
    )
    t = lap("calibration", t)
    log(
        "validation (cross-fitted): any category ≥ 0.5 vs flagged "
        + json.dumps(report["flagged_any_category_at_0.5"])
        + f"; mean AP {report['mean_average_precision']}"
    )

    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    _write_npz(
        out / HEADS_FILE,
        {
            "embedding_weights": emb.weights.astype(np.float32),
            "embedding_bias": emb.bias.astype(np.float32),
            "conditional_weights": cond.weights.astype(np.float32),
            "conditional_bias": cond.bias.astype(np.float32),
        },
    )
    _write_npz(out / NGRAMS_FILE, {"weights": ngram_w16, "bias": ng.bias.astype(np.float32)})
    calibration = {
        "format": FORMAT_VERSION,
        "backbone": embedder.name,
        "categories": categories,
        "ngram_heads": ngram_heads,
        "ngram_bits": config.ngram_bits,
        "full_languages": list(FULL_LANGUAGES),
        "direct_features": list(DIRECT_FEATURES),
        "flagged_features": list(FLAGGED_FEATURES),
        "flagged": {
            "full": _calibration_json(cal.flagged_full, 0),
            "embedding": _calibration_json(cal.flagged_embedding, 0),
        },
        "conditional": {c: _calibration_json(cal.conditional, j) for j, c in enumerate(categories)},
        "direct": {
            "full": {c: _calibration_json(cal.direct_full, j) for j, c in enumerate(categories)},
            "embedding": {
                c: _calibration_json(cal.direct_embedding, j) for j, c in enumerate(categories)
            },
        },
        "pooled": {
            "full": [round(float(x), 6) for x in cal.pooled_full],
            "embedding": [round(float(x), 6) for x in cal.pooled_embedding],
        },
    }
    _write_json(out / CALIBRATION_FILE, calibration)

    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "model": "text-classifier",
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "command": config.command,
        "seed": config.seed,
        "quick": config.quick,
        "backbone": {"name": embedder.name, "version": embedder.version, "dim": embedder.dim},
        "ngrams": {
            "bits": config.ngram_bits,
            "max_chars": MAX_CHARS,
            "orders": "1-4 for grams with CJK/kana/Hangul/Thai characters, 2-5 otherwise",
            "heads": ngram_heads,
        },
        "data": {
            "files": [
                {
                    "path": str(f.path),
                    "sha256": f.sha256,
                    "rows_read": f.rows_read,
                    "rows_used": f.rows_used,
                }
                for f in loaded.files
            ],
            "excluded": [str(p) for p in config.exclude],
            "dropped": loaded.dropped,
            "rows": {
                "total": len(rows),
                "train": len(train_rows),
                "validation": len(val_rows),
                "lexicon_labelled": n_assisted,
            },
            "positives": positives,
            "rows_by_source": _count_by_source(train_rows, val_rows),
        },
        "training": {
            "config": {
                k: v
                for k, v in asdict(config).items()
                if k
                not in (
                    "data_dir",
                    "out_dir",
                    "examples_dir",
                    "exclude",
                    "command",
                    "embedding_cache",
                )
            },
            "full_languages": list(FULL_LANGUAGES),
            "embedding_heads": {"iterations": emb.iterations, "converged": emb.converged},
            "conditional_heads": {"iterations": cond.iterations, "converged": cond.converged},
            "ngram_heads": {"iterations": ng.iterations, "converged": ng.converged},
            "seconds": timings,
        },
        "validation": report,
    }
    manifest["artifacts"] = {
        name: {"sha256": sha256_file(out / name), "bytes": (out / name).stat().st_size}
        for name in (HEADS_FILE, NGRAMS_FILE, CALIBRATION_FILE)
    }
    timings["total"] = round(time.perf_counter() - started, 2)
    _write_json(out / MANIFEST_FILE, manifest)
    # the artifacts must load exactly as the detector will load them
    TextClassifierModel.load(out, expected_dim=embedder.dim)
    log(f"wrote {out} in {timings['total']:.0f} s")
    return TrainResult(out_dir=out, manifest=manifest, seconds=timings["total"], timings=timings)


def _embed(embedder: Any, texts: Sequence[str], cache: Path | None, log: Log) -> F32:
    """Embed ``texts`` in chunks, reusing and extending an optional on-disk cache."""
    import hashlib

    keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
    known: dict[str, F32] = {}
    if cache is not None and cache.is_file():
        with np.load(cache, allow_pickle=False) as npz:
            if str(npz["backbone"]) == embedder.version:
                known = dict(zip(npz["keys"].tolist(), npz["vectors"], strict=True))
    vectors = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    todo = [i for i, k in enumerate(keys) if k not in known]
    for i, k in enumerate(keys):
        if k in known:
            vectors[i] = known[k]
    chunk = 2048
    for start in range(0, len(todo), chunk):
        part = todo[start : start + chunk]
        vectors[part] = embedder.embed([texts[i] for i in part])
        if len(todo) > chunk:
            log(f"  embedded {min(start + chunk, len(todo))}/{len(todo)}")
    if cache is not None and todo:
        for i in todo:
            known[keys[i]] = vectors[i]
        names = sorted(known)
        np.savez(
            cache,
            backbone=np.array(embedder.version),
            keys=np.array(names),
            vectors=np.stack([known[k] for k in names]).astype(np.float32),
        )
    return vectors


def _count_by_source(train_rows: Sequence[Row], val_rows: Sequence[Row]) -> dict[str, Any]:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"train": 0, "validation": 0})
    for r in train_rows:
        counts[r.source]["train"] += 1
    for r in val_rows:
        counts[r.source]["validation"] += 1
    return dict(sorted(counts.items()))
