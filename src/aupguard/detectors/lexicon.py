"""PLACEHOLDER lexicon detector (replaced by the real one)."""

from __future__ import annotations

from typing import ClassVar

from aupguard.detectors.base import DetectorResult, ScanItem
from aupguard.policy.models import Modality


class LexiconDetector:
    name: ClassVar[str] = "lexicon"
    version: ClassVar[str] = "0.0.0"
    modalities: ClassVar[frozenset[Modality]] = frozenset(
        {Modality.PROMPT, Modality.NEGATIVE_PROMPT, Modality.OUTPUT_TEXT}
    )
    categories: ClassVar[frozenset[str]] = frozenset({"sexual"})

    def scan(self, item: ScanItem) -> DetectorResult:
        nt = item.normalized
        scores = {"sexual": 0.9} if "nude" in nt.text else {}
        return DetectorResult(detector=self.name, version=self.version, scores=scores)
