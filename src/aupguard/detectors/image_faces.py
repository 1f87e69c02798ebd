"""Faces in images: presence, count and boxes, with OpenCV's packaged Haar cascade.

Face *presence* only. No face is recognised, compared or identified, and no biometric template
(embedding, landmarks) is computed or stored: that is a policy requirement (face recognition
databases are themselves forbidden by the packs). The ``signal/face`` modifier never fires a
clause by itself; the taxonomy combines it with the prompt's signals (a real person named +
a face => ``impersonation`` review) and with ``sexual`` (=> ``sexual/non-consensual`` review).
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar, Final

import numpy as np

from aupguard.detectors._image_common import IMAGE_MODALITIES, IMAGES_EXTRA_HINT, image_of
from aupguard.detectors.base import DetectorError, DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality

FACE = "signal/face"
CASCADE = "haarcascade_frontalface_default.xml"
FACE_SCORE: Final = 0.9  # the cascade gives no calibrated confidence; presence is near-certain
_DETECT_SIDE: Final = 640  # detect on a bounded copy; boxes are scaled back
_MIN_FACE_FRACTION: Final = 0.05  # faces smaller than 5% of the short side are noise
_MAX_BOXES: Final = 20

_local = threading.local()  # cv2.CascadeClassifier is not safe to share between threads


def _cascade() -> Any:
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        try:
            import cv2
        except ImportError as exc:
            raise DetectorError(
                f"opencv-python-headless is not installed ({IMAGES_EXTRA_HINT})"
            ) from exc
        if not hasattr(cv2, "CascadeClassifier"):
            raise DetectorError(
                "this OpenCV build has no Haar cascades (OpenCV 5 dropped them); "
                "install opencv-python-headless<5"
            )
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)  # type: ignore[attr-defined, unused-ignore]
        if cascade.empty():
            raise DetectorError(f"OpenCV's {CASCADE} could not be loaded")
        _local.cascade = cascade
    return cascade


class FaceImageDetector:
    name: ClassVar[str] = "image-faces"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = IMAGE_MODALITIES
    categories: ClassVar[frozenset[str]] = frozenset({FACE})

    def faces(self, pixels: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Face boxes (x, y, w, h) in the pixel coordinates of ``pixels`` (H, W, 3 uint8)."""
        import cv2

        cascade = _cascade()
        gray = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        height, width = gray.shape
        scale = min(1.0, _DETECT_SIDE / max(height, width))
        if scale < 1.0:
            gray = cv2.resize(
                gray, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
            )
        gray = cv2.equalizeHist(gray)
        min_side = max(24, round(min(gray.shape) * _MIN_FACE_FRACTION))
        found = cascade.detectMultiScale(
            gray, scaleFactor=1.1, minNeighbors=6, minSize=(min_side, min_side)
        )
        boxes = [tuple(round(float(v) / scale) for v in box) for box in found]
        boxes.sort(key=lambda b: -(b[2] * b[3]))
        return [(b[0], b[1], b[2], b[3]) for b in boxes]

    def scan(self, item: ScanItem) -> DetectorResult:
        image = image_of(item, self.name)
        boxes = self.faces(image.pixels)
        if not boxes:
            return DetectorResult(
                detector=self.name, version=self.version, explanation="no face found"
            )
        evidence = tuple(
            Evidence(
                category=FACE,
                score=FACE_SCORE,
                rule=CASCADE,
                region=box,
                detail=f"face at x={box[0]} y={box[1]} size {box[2]}x{box[3]}",
            )
            for box in boxes[:_MAX_BOXES]
        )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={FACE: FACE_SCORE},
            evidence=evidence,
            explanation=f"{len(boxes)} face(s) found (presence only; nothing is recognised)",
        )
