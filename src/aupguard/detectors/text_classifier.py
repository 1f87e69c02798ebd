"""The trained text classifier: calibrated per-category probabilities from a multilingual
sentence embedding, hashed character n-grams and the lexicon's scores.

For each category it has a head for (``aupguard.models.HEAD_CATEGORIES``) the score is the
larger of two calibrated estimates of "the probability a strict policy refuses this for
that category" (``aupguard/models/classifier.py`` has the arithmetic):

* direct: a stacked Platt calibration of the category's logistic head over ``item.embedding``
  (512-d multilingual USE v3, computed once per item and batch-computed by
  ``Moderator.prepare``), its head over hashed character n-grams of the normalised text
  (1–4-grams for CJK, 2–5 otherwise; NumPy, deterministic) where the category had enough
  data, and the lexicon detector's score for it;
* factorised: P(flagged) from the overall ``flagged`` heads and the lexicon, times
  P(category | flagged) from a head trained on refused prompts only.

The n-gram heads and the lexicon cover English and Chinese; text in other languages gets
embedding-only calibrations. Calibration was fitted on a held-out validation split, so the
packs' default thresholds (review 0.5, act 0.8) read as probabilities.

Evidence: for each category at or above 0.5, the words around the n-grams that raised it
most, as spans of the original text. Artifacts load lazily, once per directory and process,
and are checked against the sha256 in their manifest; a missing, truncated or inconsistent
file raises :class:`ArtifactError` naming it, from :meth:`TextClassifierDetector.load` (call
it at start-up to fail early) and from every ``scan``, so the engine fails closed.
``aupguard/training/README.md`` documents how the artifacts are made.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import ClassVar, Final

from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.detectors.lexicon import LexiconDetector
from aupguard.models import DEFAULT_TEXT_CLASSIFIER_DIR, HEAD_CATEGORIES
from aupguard.models.classifier import ArtifactError, CategoryScore, TextClassifierModel
from aupguard.models.ngrams import HashedGrams, ngram_view
from aupguard.policy.models import Modality
from aupguard.text.lang import detect_language
from aupguard.text.normalize import NormalizedText

__all__ = ["ArtifactError", "TextClassifierDetector"]

#: categories at or above this score get an explanation and n-gram evidence
EXPLAIN_MIN: Final = 0.5
EVIDENCE_PER_CATEGORY: Final = 3


def _sigmoid(z: float) -> float:
    return 0.5 * (1.0 + math.tanh(0.5 * z))


class TextClassifierDetector:
    """Calibrated per-category probabilities from embedding and n-gram heads (module doc)."""

    name: ClassVar[str] = "text-classifier"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT, Modality.OUTPUT_TEXT})
    categories: ClassVar[frozenset[str]] = frozenset(HEAD_CATEGORIES)
    #: the moderator batch-embeds items ahead of scanning when a detector says so
    uses_embeddings: ClassVar[bool] = True

    _cache: ClassVar[dict[Path, TextClassifierModel]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, artifacts_dir: Path | str | None = None) -> None:
        self.artifacts_dir = Path(artifacts_dir or DEFAULT_TEXT_CLASSIFIER_DIR).resolve()
        self._model: TextClassifierModel | None = None
        self._lexicon = LexiconDetector()

    @classmethod
    def clear_cache(cls) -> None:
        """Forget loaded artifacts (they are read again on the next scan)."""
        with cls._lock:
            cls._cache.clear()

    def load(self) -> TextClassifierModel:
        """Load and check the artifacts now (call at start-up to fail early); raises
        :class:`ArtifactError` naming the file at fault."""
        model = self._model
        if model is not None:
            return model
        with self._lock:
            model = self._cache.get(self.artifacts_dir)
            if model is None:
                from aupguard.embeddings import get_embedder

                embedder = get_embedder()
                model = TextClassifierModel.load(self.artifacts_dir, expected_dim=embedder.dim)
                if model.backbone != embedder.name:
                    raise ArtifactError(
                        self.artifacts_dir / "calibration.json",
                        f"trained on the {model.backbone!r} backbone, not {embedder.name!r}",
                    )
                if set(model.categories) != set(HEAD_CATEGORIES):
                    missing = sorted(set(HEAD_CATEGORIES) - set(model.categories))
                    extra = sorted(set(model.categories) - set(HEAD_CATEGORIES))
                    raise ArtifactError(
                        self.artifacts_dir / "calibration.json",
                        f"its heads do not match this version of aupguard (missing {missing}, "
                        f"unknown {extra}): re-run `aupguard train`",
                    )
                self._cache[self.artifacts_dir] = model
        self._model = model
        return model

    def scan(self, item: ScanItem) -> DetectorResult:
        model = self.load()
        lexicon = self._lexicon.scan(item).scores
        view = ngram_view(item.normalized)
        language = item.lang if item.lang is not None else detect_language(item.normalized.text)
        prediction = model.predict(item.embedding, view.text, lexicon, language)
        probabilities = prediction.probabilities
        strong = [
            prediction.category(c)
            for c in sorted(probabilities, key=lambda c: -probabilities[c])
            if probabilities[c] >= EXPLAIN_MIN
        ]
        evidence: list[Evidence] = []
        if prediction.full:
            for r in strong:
                evidence += self._evidence(model, view, r, prediction.grams)
        if strong:
            explanation = f"{self.name}: " + "; ".join(self._part(r) for r in strong)
        else:
            top = prediction.category(max(probabilities, key=lambda c: probabilities[c]))
            explanation = f"{self.name}: no category ≥ {EXPLAIN_MIN} (highest {self._part(top)})"
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=dict(zip(model.categories, prediction.rounded(4), strict=True)),
            evidence=tuple(evidence),
            explanation=f"{explanation}; P(flagged) {prediction.flagged:.2f}, lang {language}",
        )

    # ------------------------------------------------------------------ explanations

    @staticmethod
    def _part(r: CategoryScore) -> str:
        parts = [f"embedding head {_sigmoid(r.embedding_logit):.2f}"]
        if r.ngram_logit is not None:
            parts.append(f"n-gram {_sigmoid(r.ngram_logit):.2f}")
        if r.factorised > r.direct:
            parts.append(f"via flagged × category {r.factorised:.2f}")
        return f"{r.category} {r.probability:.2f} ({', '.join(parts)})"

    @staticmethod
    def _evidence(
        model: TextClassifierModel,
        norm: NormalizedText,
        r: CategoryScore,
        grams: HashedGrams | None = None,
    ) -> list[Evidence]:
        """The words around the n-grams that raise the category (or the flagged head) most,
        as spans of the original text."""
        text = norm.text
        spans: list[tuple[int, int, float]] = []
        for start, end, contrib in model.top_ngrams(text, r.category, EVIDENCE_PER_CATEGORY, grams):
            while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
                start -= 1
            while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
                end += 1
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            if end <= start:
                continue
            for i, (s, e, c) in enumerate(spans):
                if start <= e and s <= end:  # overlapping or touching: merge
                    spans[i] = (min(s, start), max(e, end), c + contrib)
                    break
            else:
                spans.append((start, end, contrib))
        out = []
        for start, end, contrib in spans:
            ostart, oend = norm.to_original(start, end)
            out.append(
                Evidence(
                    category=r.category,
                    score=min(1.0, max(0.0, r.probability)),
                    start=ostart,
                    end=oend,
                    text=norm.original[ostart:oend],
                    rule="text-classifier:ngram",
                    detail=f"n-gram contribution +{contrib:.2f} to the "
                    + ("category" if r.ngram_logit is not None else "flagged")
                    + " head",
                )
            )
        return out
