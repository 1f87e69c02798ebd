"""The text classifier's artifacts: loading with integrity checks, and NumPy-only inference.

An artifact directory (``aupguard train --out DIR``) holds

``heads.npz``
    logistic heads over the 512-d sentence embedding: ``embedding_weights`` / ``_bias`` (one
    head per category, one-vs-rest, plus the overall ``flagged`` head) and
    ``conditional_weights`` / ``_bias`` (per category, trained on flagged rows only: "given
    that a strict policy refuses this, is it for this category?").
``ngrams.npz``
    ``weights`` (2**bits × n-gram heads, float16) and ``bias``: logistic heads over hashed
    character n-grams (:mod:`aupguard.models.ngrams`) for the categories with enough data and
    for ``flagged``.
``calibration.json``
    stacked Platt calibrations fitted on a held-out validation split (see below).
``manifest.json``
    provenance (data files and hashes, backbone, command, seed, validation figures) and the
    sha256 of the three files above, verified on load.

A category's probability is the larger of two estimates of "a strict policy refuses this for
this category":

* direct: ``sigmoid(a·z_emb + b·z_ngram + c·lexicon + d)`` (one-vs-rest heads);
* factorised: ``P(flagged) · P(category | flagged)``, where ``P(flagged)`` is
  ``sigmoid(a·z_emb_flagged + b·z_ngram_flagged + c·max lexicon + d)`` and the second factor
  is ``sigmoid(a·z_conditional + b)``, calibrated on the flagged validation rows — except,
  outside English and Chinese, for the likeliest category of the text, whose second factor
  is 1 (the refusal is attributed to it, see :func:`_attribute`).

The n-gram heads and the lexicon exist for English and Chinese only, so for text in other
languages both calibrations have an embedding-only variant (their silence there is not
evidence of harmlessness). Every problem while loading raises :class:`ArtifactError` naming
the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from aupguard.detectors.base import DetectorError
from aupguard.models import CATEGORY_LOGIT_SHIFT, DEPLOYMENT_LOGIT_SHIFT, FLAGGED_HEAD
from aupguard.models.ngrams import HashedGrams, NGramHasher

__all__ = [
    "ARTIFACT_FILES",
    "DIRECT_FEATURES",
    "FLAGGED_FEATURES",
    "FORMAT_VERSION",
    "ArtifactError",
    "CategoryScore",
    "Prediction",
    "TextClassifierModel",
]

FORMAT_VERSION: Final = 1
HEADS_FILE: Final = "heads.npz"
NGRAMS_FILE: Final = "ngrams.npz"
CALIBRATION_FILE: Final = "calibration.json"
MANIFEST_FILE: Final = "manifest.json"
ARTIFACT_FILES: Final = (HEADS_FILE, NGRAMS_FILE, CALIBRATION_FILE, MANIFEST_FILE)
#: inputs of a category's direct calibration ("full"; "embedding" uses the first only)
DIRECT_FEATURES: Final = ("embedding", "ngram", "lexicon")
#: inputs of the flagged calibration ("full"; "embedding" uses the first only)
FLAGGED_FEATURES: Final = ("embedding", "ngram", "lexicon_max")

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


class ArtifactError(DetectorError):
    """A model artifact is missing, corrupted or inconsistent; ``path`` names the file."""

    def __init__(self, path: Path, message: str):
        self.path = path
        super().__init__(f"{path}: {message}")


def sigmoid(z: Any) -> Any:
    """Logistic function, overflow-free (tanh form)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """One category's probability and the parts it was computed from."""

    category: str
    probability: float
    direct: float  # the direct (one-vs-rest) calibrated estimate
    factorised: float  # P(flagged) · P(category | flagged)
    embedding_logit: float
    ngram_logit: float | None  # None: no n-gram head for the category, or not used


class Prediction:
    """One text's scores: ``probabilities`` by category, P(flagged), and the parts of any
    category on demand."""

    __slots__ = ("_model", "_s", "flagged", "full", "grams", "probabilities")

    def __init__(
        self, model: TextClassifierModel, s: Mapping[str, Any], grams: HashedGrams | None = None
    ):
        self._model = model
        self._s = s
        self.grams = grams  # the n-gram view's grams, when the n-gram heads ran
        self.flagged = float(s["flagged"])
        self.full = bool(s["full"])
        self.probabilities: dict[str, float] = dict(
            zip(model.categories, np.asarray(s["probability"]).tolist(), strict=True)
        )

    def rounded(self, digits: int) -> list[float]:
        """The probabilities in category order, rounded."""
        out: list[float] = np.round(np.asarray(self._s["probability"]), digits).tolist()
        return out

    def category(self, name: str) -> CategoryScore:
        j = self._model.categories.index(name)
        has_ngram = self.full and name in self._model.ngram_heads
        return CategoryScore(
            category=name,
            probability=self.probabilities[name],
            direct=float(self._s["direct"][j]),
            factorised=float(self._s["factorised"][j]),
            embedding_logit=float(self._s["embedding_logit"][j]),
            ngram_logit=float(self._s["ngram_logit"][j]) if has_ngram else None,
        )


def _attribute(conditional: F64) -> F64:
    """The second factor of the factorised estimate for text outside the full languages (the
    embedding-only path): ``P(category | flagged)``, except that the most likely category
    (the first, on a tie) of each row gets 1. A prompt a strict policy refuses is refused for
    at least one category, but the conditional heads are separate one-vs-rest calibrations
    and in languages they saw little of they are often all low at once; the refusal is then
    attributed to the likeliest category with the full ``P(flagged)``. In English and
    Chinese the n-gram heads and the lexicon carry that evidence, and attributing there too
    added false positives on benign instructions (see ``aupguard/training/README.md``)."""
    c = np.asarray(conditional, dtype=np.float64)
    out: F64 = c.copy()
    top = np.argmax(c, axis=-1)
    if c.ndim == 1:
        out[top] = 1.0
    else:
        out[np.arange(c.shape[0]), top] = 1.0
    return out


@dataclass(frozen=True, slots=True)
class Calibration:
    """``sigmoid(features @ coef + bias)`` for each row of ``coef`` (one per category)."""

    coef: F64  # (categories, features)
    bias: F64  # (categories,)

    def __call__(self, features: F64) -> F64:
        out: F64 = sigmoid(np.einsum("...k,...k->...", features, self.coef) + self.bias)
        return out


def _load_npz(path: Path, arrays: Sequence[str]) -> dict[str, npt.NDArray[Any]]:
    if not path.is_file():
        raise ArtifactError(path, "missing (re-run `aupguard train` or reinstall aupguard)")
    try:
        # read the bytes first: np.load leaks its file handle when the zip is corrupt
        with np.load(io.BytesIO(path.read_bytes()), allow_pickle=False) as npz:
            missing = [a for a in arrays if a not in npz.files]
            if missing:
                raise ArtifactError(path, f"lacks the arrays {missing}")
            return {a: np.asarray(npz[a]) for a in arrays}
    except ArtifactError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ArtifactError(
            path, f"unreadable or truncated ({type(exc).__name__}: {exc})"
        ) from None


def _load_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtifactError(path, "missing (re-run `aupguard train` or reinstall aupguard)")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(path, f"not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ArtifactError(path, "must hold a JSON object")
    return obj


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _calibration(table: Any, categories: Sequence[str], n_features: int) -> Calibration:
    coef = np.asarray(
        [[float(v) for v in table[c]["coef"]] for c in categories], dtype=np.float64
    ).reshape(len(categories), n_features)
    bias = np.asarray([float(table[c]["bias"]) for c in categories], dtype=np.float64)
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(bias))):
        raise ValueError("non-finite coefficients")
    return Calibration(coef=coef, bias=bias)


@dataclass(frozen=True)
class TextClassifierModel:
    """Loaded artifacts. Use :meth:`load`; instances are immutable and thread-safe."""

    directory: Path
    categories: tuple[str, ...]
    embedding_weights: F32  # (dim, categories + 1): the last column is the flagged head
    embedding_bias: F32
    conditional_weights: F32  # (dim, categories)
    conditional_bias: F32
    ngram_heads: tuple[str, ...]
    ngram_weights: npt.NDArray[np.float16]
    ngram_bias: F32
    hasher: NGramHasher
    direct_full: Calibration
    direct_embedding: Calibration
    flagged_full: Calibration
    flagged_embedding: Calibration
    conditional: Calibration
    full_languages: frozenset[str]
    backbone: str
    manifest: Mapping[str, Any]
    # derived for the one-text path: all embedding heads side by side, n-gram column maps
    _stacked_weights: F32 = field(init=False, repr=False)
    _stacked_bias: F32 = field(init=False, repr=False)
    _ngram_rows: npt.NDArray[np.intp] = field(init=False, repr=False)
    _ngram_cols: npt.NDArray[np.intp] = field(init=False, repr=False)
    _ngram_flag: int = field(init=False, repr=False)
    #: per-category log-odds added at inference (the deployment prior, see aupguard.models);
    #: ``apply_prior_shift=False`` gives the validation-split calibration itself
    apply_prior_shift: bool = True
    _logit_shift: F64 = field(init=False, repr=False)

    def __post_init__(self) -> None:
        stacked = np.ascontiguousarray(
            np.concatenate([self.embedding_weights, self.conditional_weights], axis=1)
        )
        pairs = [
            (self.categories.index(h), k)
            for k, h in enumerate(self.ngram_heads)
            if h != FLAGGED_HEAD
        ]
        derived = {
            "_stacked_weights": stacked,
            "_stacked_bias": np.concatenate([self.embedding_bias, self.conditional_bias]),
            "_ngram_rows": np.array([j for j, _ in pairs], dtype=np.intp),
            "_ngram_cols": np.array([k for _, k in pairs], dtype=np.intp),
            "_ngram_flag": self.ngram_heads.index(FLAGGED_HEAD),
            "_logit_shift": np.array(
                [
                    (DEPLOYMENT_LOGIT_SHIFT + CATEGORY_LOGIT_SHIFT.get(c, 0.0))
                    if self.apply_prior_shift
                    else 0.0
                    for c in self.categories
                ]
            ),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    def _shift(self, probability: Any) -> Any:
        """Move calibrated probabilities by the deployment prior in log-odds (monotone, so the
        ranking of texts within a category never changes), clipped to [0, 1]."""
        p = np.clip(np.asarray(probability, dtype=np.float64), 1e-9, 1.0 - 1e-9)
        if not self.apply_prior_shift:
            return np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
        return sigmoid(np.log(p) - np.log1p(-p) + self._logit_shift)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, directory: Path | str, *, expected_dim: int | None = None) -> TextClassifierModel:
        directory = Path(directory)
        manifest_path = directory / MANIFEST_FILE
        manifest = _load_json(manifest_path)
        if manifest.get("format") != FORMAT_VERSION:
            raise ArtifactError(
                manifest_path,
                f"format {manifest.get('format')!r} is not the supported {FORMAT_VERSION}",
            )
        digests = manifest.get("artifacts")
        if not isinstance(digests, dict):
            raise ArtifactError(manifest_path, "lacks the 'artifacts' table of file hashes")
        for name in (HEADS_FILE, NGRAMS_FILE, CALIBRATION_FILE):
            path = directory / name
            if not path.is_file():
                raise ArtifactError(path, "missing (re-run `aupguard train` or reinstall aupguard)")
            entry = digests.get(name)
            expected = entry.get("sha256") if isinstance(entry, dict) else None
            if not isinstance(expected, str):
                raise ArtifactError(manifest_path, f"has no sha256 for {name}")
            if sha256_file(path) != expected:
                raise ArtifactError(
                    path, f"sha256 differs from {MANIFEST_FILE} (corrupted or modified file)"
                )

        calib_path = directory / CALIBRATION_FILE
        calib = _load_json(calib_path)
        try:
            if calib["format"] != FORMAT_VERSION:
                raise ValueError(f"format {calib['format']!r}")
            categories = tuple(str(c) for c in calib["categories"])
            ngram_heads = tuple(str(h) for h in calib["ngram_heads"])
            bits = int(calib["ngram_bits"])
            if tuple(calib["direct_features"]) != DIRECT_FEATURES:
                raise ValueError(f"direct_features are not {DIRECT_FEATURES}")
            if tuple(calib["flagged_features"]) != FLAGGED_FEATURES:
                raise ValueError(f"flagged_features are not {FLAGGED_FEATURES}")
            direct_full = _calibration(calib["direct"]["full"], categories, len(DIRECT_FEATURES))
            direct_emb = _calibration(calib["direct"]["embedding"], categories, 1)
            flagged = calib["flagged"]
            flagged_full = _calibration(
                {FLAGGED_HEAD: flagged["full"]}, [FLAGGED_HEAD], len(FLAGGED_FEATURES)
            )
            flagged_emb = _calibration({FLAGGED_HEAD: flagged["embedding"]}, [FLAGGED_HEAD], 1)
            conditional = _calibration(calib["conditional"], categories, 1)
            full_languages = frozenset(str(x) for x in calib["full_languages"])
            backbone = str(calib["backbone"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(calib_path, f"malformed ({type(exc).__name__}: {exc})") from None
        if FLAGGED_HEAD not in ngram_heads or not set(ngram_heads) <= {*categories, FLAGGED_HEAD}:
            raise ArtifactError(calib_path, "its n-gram heads do not match its categories")
        if not 8 <= bits <= 24:
            raise ArtifactError(calib_path, f"ngram_bits {bits} is out of range")
        n_cat = len(categories)

        heads_path = directory / HEADS_FILE
        h = _load_npz(
            heads_path,
            ("embedding_weights", "embedding_bias", "conditional_weights", "conditional_bias"),
        )
        ew, eb = h["embedding_weights"].astype(np.float32), h["embedding_bias"].astype(np.float32)
        cw = h["conditional_weights"].astype(np.float32)
        cb = h["conditional_bias"].astype(np.float32)
        dim = ew.shape[0] if ew.ndim == 2 else -1
        if (
            ew.shape != (dim, n_cat + 1)
            or eb.shape != (n_cat + 1,)
            or cw.shape != (dim, n_cat)
            or cb.shape != (n_cat,)
        ):
            raise ArtifactError(heads_path, f"array shapes do not fit {n_cat} categories")
        if expected_dim is not None and dim != expected_dim:
            raise ArtifactError(
                heads_path, f"expects {dim}-d embeddings, the backbone gives {expected_dim}"
            )

        ngrams_path = directory / NGRAMS_FILE
        n = _load_npz(ngrams_path, ("weights", "bias"))
        nw = n["weights"].astype(np.float16)
        nb = n["bias"].astype(np.float32)
        if nw.shape != (1 << bits, len(ngram_heads)) or nb.shape != (len(ngram_heads),):
            raise ArtifactError(
                ngrams_path, f"shape {nw.shape} does not fit 2**{bits} × {len(ngram_heads)} heads"
            )
        for path, arrays in (
            (heads_path, (ew, eb, cw, cb)),
            (ngrams_path, (nw, nb)),
        ):
            if not all(np.all(np.isfinite(a)) for a in arrays):
                raise ArtifactError(path, "holds non-finite weights")
        return cls(
            directory=directory,
            categories=categories,
            embedding_weights=ew,
            embedding_bias=eb,
            conditional_weights=cw,
            conditional_bias=cb,
            ngram_heads=ngram_heads,
            ngram_weights=nw,
            ngram_bias=nb,
            hasher=NGramHasher(bits),
            direct_full=direct_full,
            direct_embedding=direct_emb,
            flagged_full=flagged_full,
            flagged_embedding=flagged_emb,
            conditional=conditional,
            full_languages=full_languages,
            backbone=backbone,
            manifest=manifest,
        )

    # ------------------------------------------------------------------ inference

    def ngram_logits(self, text: str) -> F32:
        buckets, values = self.hasher.features(text)
        out: F32 = values @ self.ngram_weights[buckets].astype(np.float32) + self.ngram_bias
        return out

    def scores(
        self,
        embeddings: F32,
        texts: Sequence[str],
        lexicon: Sequence[Mapping[str, float]],
        languages: Sequence[str | None],
    ) -> dict[str, F64]:
        """Every intermediate for a batch: ``probability``, ``direct``, ``factorised``,
        ``flagged`` (P(flagged)), ``embedding_logit``, ``ngram_logit`` (0 where unused),
        ``conditional`` — arrays with one row per text (``flagged``: one value per text)."""
        n, n_cat = len(texts), len(self.categories)
        emb = np.asarray(embeddings, dtype=np.float32).reshape(n, -1)
        ze = (emb @ self.embedding_weights + self.embedding_bias).astype(np.float64)
        zc = (emb @ self.conditional_weights + self.conditional_bias).astype(np.float64)
        full = np.array([lang in self.full_languages for lang in languages], dtype=bool)
        zn_cat = np.zeros((n, n_cat))
        zn_flag = np.zeros(n)
        lex = np.zeros((n, n_cat))
        ngram_cols = [
            (self.categories.index(h), k)
            for k, h in enumerate(self.ngram_heads)
            if h != FLAGGED_HEAD
        ]
        flag_col = self.ngram_heads.index(FLAGGED_HEAD)
        for i in (int(x) for x in np.flatnonzero(full)):
            zn = self.ngram_logits(texts[i]).astype(np.float64)
            for j, k in ngram_cols:
                zn_cat[i, j] = zn[k]
            zn_flag[i] = zn[flag_col]
            lex[i] = [lexicon[i].get(c, 0.0) for c in self.categories]
        direct = np.empty((n, n_cat))
        flagged = np.empty(n)
        if full.any():
            feats = np.stack([ze[full, :n_cat], zn_cat[full], lex[full]], axis=-1)
            direct[full] = self.direct_full(feats)
            fflag = np.stack([ze[full, n_cat], zn_flag[full], lex[full].max(axis=1)], axis=-1)
            flagged[full] = self.flagged_full(fflag)
        if (~full).any():
            direct[~full] = self.direct_embedding(ze[~full, :n_cat, None])
            flagged[~full] = self.flagged_embedding(ze[~full, n_cat][:, None])
        conditional = self.conditional(zc[:, :, None])
        factorised = flagged[:, None] * np.where(
            full[:, None], conditional, _attribute(conditional)
        )
        probability = self._shift(np.maximum(direct, factorised))
        return {
            "probability": probability,
            "direct": direct,
            "factorised": factorised,
            "flagged": flagged,
            "conditional": conditional,
            "embedding_logit": ze[:, :n_cat],
            "ngram_logit": zn_cat,
            "full": full.astype(np.float64),
        }

    def predict(
        self,
        embedding: F32,
        text: str,
        lexicon: Mapping[str, float] | None = None,
        language: str | None = None,
    ) -> Prediction:
        """Scores for one text (``text`` is the n-gram view of the normalised text): the same
        arithmetic as :meth:`scores`, with fewer array operations for one row."""
        n_cat = len(self.categories)
        z = np.asarray(embedding, dtype=np.float32) @ self._stacked_weights + self._stacked_bias
        z = z.astype(np.float64)
        ze_cat, ze_flag, zc = z[:n_cat], z[n_cat], z[n_cat + 1 :]
        full = language in self.full_languages
        zn_cat = np.zeros(n_cat)
        grams = None
        if full:
            grams = self.hasher.grams(text)
            buckets, values, _ = self.hasher.vectorize(grams)
            zn = (values @ self.ngram_weights[buckets].astype(np.float32) + self.ngram_bias).astype(
                np.float64
            )
            zn_cat[self._ngram_rows] = zn[self._ngram_cols]
            lex_all = lexicon or {}
            lex = np.array([lex_all.get(c, 0.0) for c in self.categories])
            feats = np.stack([ze_cat, zn_cat, lex], axis=-1)
            direct = sigmoid((feats * self.direct_full.coef).sum(axis=1) + self.direct_full.bias)
            fflag = np.array([ze_flag, zn[self._ngram_flag], lex.max(initial=0.0)])
            flagged = float(sigmoid(fflag @ self.flagged_full.coef[0] + self.flagged_full.bias[0]))
        else:
            direct = sigmoid(ze_cat * self.direct_embedding.coef[:, 0] + self.direct_embedding.bias)
            cal = self.flagged_embedding
            flagged = float(sigmoid(ze_flag * cal.coef[0, 0] + cal.bias[0]))
        conditional = sigmoid(zc * self.conditional.coef[:, 0] + self.conditional.bias)
        factorised = flagged * (conditional if full else _attribute(conditional))
        return Prediction(
            self,
            {
                "probability": self._shift(np.maximum(direct, factorised)),
                "direct": direct,
                "factorised": factorised,
                "flagged": flagged,
                "conditional": conditional,
                "embedding_logit": ze_cat,
                "ngram_logit": zn_cat,
                "full": float(full),
            },
            grams,
        )

    def calibrate(self, category: str, raw: float | F64, *, full: bool = True) -> Any:
        """The direct calibration as a function of its raw stacked score
        (``coef · features``): monotone increasing, within [0, 1]."""
        j = self.categories.index(category)
        cal = self.direct_full if full else self.direct_embedding
        p = sigmoid(np.asarray(raw, dtype=np.float64) + cal.bias[j])
        return float(p) if np.ndim(p) == 0 else p

    def top_ngrams(
        self, text: str, head: str, k: int = 3, grams: HashedGrams | None = None
    ) -> list[tuple[int, int, float]]:
        """The ``k`` grams of ``text`` that raise ``head``'s n-gram logit the most (the flagged
        head's when ``head`` has no n-gram head): (start, end, contribution) in ``text``,
        strongest first, positive contributions only."""
        col = self.ngram_heads.index(head if head in self.ngram_heads else FLAGGED_HEAD)
        if grams is None:
            grams = self.hasher.grams(text)
        _, _, norm = self.hasher.vectorize(grams)
        if norm <= 0:
            return []
        contrib = grams.sign * self.ngram_weights[grams.bucket, col].astype(np.float32) / norm
        order = np.argsort(-contrib, kind="stable")[:k]
        out = []
        for i in order:
            if contrib[i] <= 0:
                break
            start = max(0, int(grams.start[i]))
            end = min(len(text), int(grams.start[i]) + int(grams.length[i]))
            if end > start:
                out.append((start, end, float(contrib[i])))
        return out
