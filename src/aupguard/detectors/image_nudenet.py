"""Body-part regions with NudeNet (optional, opt-in): boxes of exposed or covered body parts
that become evidence regions a reviewer sees on the image, and scores for ``sexual`` (exposed
genitalia, breasts, buttocks, anus) and ``sexual/suggestive`` (those covered, exposed belly).

NudeNet's model and code are AGPL-3.0 licensed (its wheel carries the AGPL text although its
metadata says MIT): it is **not** a dependency of aupguard. An operator who accepts the licence
installs the ``nudenet`` extra and sets ``AUPGUARD_NUDENET=on``; only then is this detector
registered. Enabled but not installed is a start-up error, never a silent pass.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

import numpy as np

from aupguard.detectors._image_common import IMAGE_MODALITIES, image_of
from aupguard.detectors.base import DetectorError, DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality

ENABLE_ENV = "AUPGUARD_NUDENET"
SEXUAL = "sexual"
SUGGESTIVE = "sexual/suggestive"

# NudeNet class -> (category, weight of its score); faces and feet are not evidence
PART_CATEGORIES: dict[str, tuple[str, float]] = {
    "FEMALE_GENITALIA_EXPOSED": (SEXUAL, 1.0),
    "MALE_GENITALIA_EXPOSED": (SEXUAL, 1.0),
    "ANUS_EXPOSED": (SEXUAL, 1.0),
    "FEMALE_BREAST_EXPOSED": (SEXUAL, 0.9),
    "BUTTOCKS_EXPOSED": (SEXUAL, 0.8),
    "FEMALE_GENITALIA_COVERED": (SUGGESTIVE, 0.8),
    "FEMALE_BREAST_COVERED": (SUGGESTIVE, 0.6),
    "BUTTOCKS_COVERED": (SUGGESTIVE, 0.6),
    "ANUS_COVERED": (SUGGESTIVE, 0.6),
    "MALE_BREAST_EXPOSED": (SUGGESTIVE, 0.3),
    "BELLY_EXPOSED": (SUGGESTIVE, 0.3),
}
MIN_SCORE = 0.3  # NudeNet's own detections start at 0.2; below 0.3 they are mostly noise

_lock = threading.Lock()
_model: Any = None


def enabled() -> bool:
    return os.environ.get(ENABLE_ENV, "").strip().lower() in ("1", "on", "true", "yes")


def _detector() -> Any:
    global _model
    with _lock:
        if _model is None:
            try:
                from nudenet import NudeDetector
            except ImportError as exc:
                raise DetectorError(
                    f"{ENABLE_ENV} is on but NudeNet is not installed: "
                    "pip install 'aupguard[nudenet]' (AGPL-3.0)"
                ) from exc
            _model = NudeDetector()
        return _model


def scores_from_parts(parts: list[dict[str, Any]]) -> tuple[dict[str, float], list[Evidence]]:
    """Category scores (the strongest weighted part per category) and one evidence region per
    part, from NudeNet's ``[{"class", "score", "box": [x, y, w, h]}]``."""
    scores = {SEXUAL: 0.0, SUGGESTIVE: 0.0}
    evidence = []
    for part in parts:
        mapped = PART_CATEGORIES.get(str(part.get("class")))
        score = float(part.get("score", 0.0))
        if mapped is None or score < MIN_SCORE:
            continue
        category, weight = mapped
        value = round(min(1.0, score * weight), 4)
        scores[category] = max(scores[category], value)
        x, y, w, h = (int(v) for v in part["box"])
        evidence.append(
            Evidence(
                category=category,
                score=value,
                rule=f"nudenet:{str(part['class']).lower()}",
                detail=f"{part['class']} ({score:.2f})",
                region=(x, y, w, h),
            )
        )
    # something sexual is at least suggestive
    scores[SUGGESTIVE] = max(scores[SUGGESTIVE], scores[SEXUAL])
    return scores, evidence


class NudeNetImageDetector:
    name: ClassVar[str] = "image-nudenet"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = IMAGE_MODALITIES
    categories: ClassVar[frozenset[str]] = frozenset({SEXUAL, SUGGESTIVE})

    def __init__(self) -> None:
        import importlib.util

        if importlib.util.find_spec("nudenet") is None:  # fail at start-up, not per image
            raise DetectorError(
                f"{ENABLE_ENV} is on but NudeNet is not installed: "
                "pip install 'aupguard[nudenet]' (AGPL-3.0)"
            )

    def scan(self, item: ScanItem) -> DetectorResult:
        image = image_of(item, self.name)
        # NudeNet reads BGR arrays (OpenCV's order)
        pixels = np.ascontiguousarray(np.asarray(image.image.convert("RGB"))[:, :, ::-1])
        parts = _detector().detect(pixels)
        scores, evidence = scores_from_parts(list(parts))
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores=scores,
            evidence=tuple(evidence),
            explanation=f"NudeNet found {len(evidence)} relevant body-part region(s)",
        )
