"""The ``circumvention`` signal the provenance layer adds to a request: an input image that
carries our watermark or manifest, with a prompt asking to remove it; or an upload of one of
our outputs whose provenance metadata was stripped."""

from __future__ import annotations

import time

from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.policy.models import Modality
from aupguard.provenance.settings import ProvenanceSettings
from aupguard.provenance.verify import VerificationReport, verify_image

NAME = "provenance"
VERSION = "1"
REMOVAL_FAMILIES = ("circumvention/watermark:", "circumvention/provenance:")
REMOVAL_SCORE = 0.95  # our mark + an explicit request to remove it
STRIPPED_SCORE = 0.6  # our mark without its manifest/metadata: review, it may be innocent


def removal_requested(prompt: str) -> Evidence | None:
    """The circumvention detector's watermark/provenance-removal evidence in a prompt."""
    from aupguard.detectors.circumvention import CircumventionDetector

    result = CircumventionDetector().scan(ScanItem(prompt, Modality.PROMPT))
    for ev in result.evidence:
        if ev.rule and ev.rule.startswith(REMOVAL_FAMILIES):
            return ev
    return None


def provenance_circumvention_signal(
    image: bytes,
    *,
    prompt: str | None,
    settings: ProvenanceSettings,
    report: VerificationReport | None = None,
) -> DetectorResult:
    """Scores ``circumvention`` for an input image (and its prompt). An image that cannot be
    decoded raises ``ImageInputError``; the caller's failure mode decides."""
    started = time.perf_counter()
    report = report or verify_image(image, settings)
    marked = report.from_our_service or (report.manifest is not None and report.manifest.valid)
    evidence: list[Evidence] = []
    score = 0.0
    if marked and prompt:
        asked = removal_requested(prompt)
        if asked is not None:
            score = REMOVAL_SCORE
            evidence.append(
                asked.model_copy(
                    update={
                        "score": REMOVAL_SCORE,
                        "detail": "input image carries our provenance; the prompt asks to remove it",
                    }
                )
            )
    if report.metadata_stripped:
        score = max(score, STRIPPED_SCORE)
        evidence.append(
            Evidence(
                category="circumvention",
                score=STRIPPED_SCORE,
                rule="provenance:stripped-output",
                detail="one of our outputs (watermark found) uploaded without its C2PA manifest "
                "or AI-generated metadata",
            )
        )
    return DetectorResult(
        detector=NAME,
        version=VERSION,
        scores={"circumvention": score} if score else {},
        evidence=tuple(evidence),
        explanation="; ".join(report.findings),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )
