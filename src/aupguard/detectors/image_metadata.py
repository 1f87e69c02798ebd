"""Personal metadata in uploaded images (EXIF GPS, camera serials, names, XMP), as a privacy
signal. Only which kinds were found is reported, never the values.

The score is a signal (0.3, below the usual review threshold of 0.5): a phone photo carrying
its GPS position is ordinary, but the operator should know, and stored copies are stripped
(``aupguard.images.metadata.clean_copy``). A pack that wants uploads with GPS reviewed lowers
its ``privacy`` threshold for ``input_image``.
"""

from __future__ import annotations

from typing import ClassVar, Final

from aupguard.detectors._image_common import image_of
from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality

PRIVACY = "privacy"
SIGNAL_SCORE: Final = 0.3


class ImageMetadataDetector:
    name: ClassVar[str] = "image-metadata"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.INPUT_IMAGE})
    categories: ClassVar[frozenset[str]] = frozenset({PRIVACY})

    def scan(self, item: ScanItem) -> DetectorResult:
        metadata = image_of(item, self.name).metadata
        personal = metadata.personal
        if not personal:
            return DetectorResult(
                detector=self.name,
                version=self.version,
                explanation="no personal metadata (GPS, serials, names, XMP) in the file",
            )
        detail = f"the file carries {', '.join(personal)} metadata (stripped from stored copies)"
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={PRIVACY: SIGNAL_SCORE},
            evidence=(
                Evidence(category=PRIVACY, score=SIGNAL_SCORE, rule="exif-xmp", detail=detail),
            ),
            explanation=detail,
        )
