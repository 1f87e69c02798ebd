"""Hostile image files: data smuggled after the image's end marker.

Decoding already refuses bombs, truncated and malformed files (``ImageInputError``). What
decodes fine but carries an appended archive, executable or script (a "polyglot" used to
slip a payload past upload filters) is flagged here as ``malware``; other trailing bytes are
noted in the explanation only (some cameras and editors append harmless data).
"""

from __future__ import annotations

from typing import ClassVar, Final

from aupguard.detectors._image_common import IMAGE_MODALITIES, image_of
from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality

MALWARE = "malware"
PAYLOAD_SCORE: Final = 0.9


class HostileFileDetector:
    name: ClassVar[str] = "image-file"
    version: ClassVar[str] = "1.0.0"
    modalities: ClassVar[frozenset[Modality]] = IMAGE_MODALITIES
    categories: ClassVar[frozenset[str]] = frozenset({MALWARE})

    def scan(self, item: ScanItem) -> DetectorResult:
        image = image_of(item, self.name)
        trailing = image.trailing
        if trailing is None:
            return DetectorResult(
                detector=self.name,
                version=self.version,
                explanation=f"{image.format}, {image.frame_count} frame(s), nothing after its end",
            )
        if not trailing.payloads:
            return DetectorResult(
                detector=self.name,
                version=self.version,
                explanation=f"{trailing.size:,} bytes after the end of the {image.format} "
                "(no known payload signature)",
            )
        detail = (
            f"{trailing.size:,} bytes after the end of the {image.format} contain "
            + ", ".join(trailing.payloads)
        )
        return DetectorResult(
            detector=self.name,
            version=self.version,
            scores={MALWARE: PAYLOAD_SCORE},
            evidence=(
                Evidence(
                    category=MALWARE, score=PAYLOAD_SCORE, rule="trailing-payload", detail=detail
                ),
            ),
            explanation=detail,
        )
