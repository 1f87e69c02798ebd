"""Checking an image: decode safely, run the image detectors, run the text detectors on text
read from the image, add the prompt's signals, and decide under the pack.

Kept apart from ``moderator.py`` (which stays about text); ``Moderator.check_image`` calls in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from aupguard.detectors.base import DetectorResult, Evidence, ScanItem
from aupguard.engine.decide import clause_applies, decide
from aupguard.engine.verdict import Verdict
from aupguard.images.errors import ImageInputError
from aupguard.images.limits import ImageLimits
from aupguard.policy.models import Modality
from aupguard.policy.taxonomy import load_taxonomy
from aupguard.text.lang import detect_language

if TYPE_CHECKING:
    from aupguard.engine.moderator import Moderator
    from aupguard.images.decode import DecodedImage

IMAGE_MODALITIES: Final = (Modality.INPUT_IMAGE, Modality.OUTPUT_IMAGE)
PROMPT_CONTEXT = "prompt-context"


@dataclass(frozen=True)
class ImageCheck:
    """The verdict on an image and what was learnt about the file (hashes, size, metadata)."""

    verdict: Verdict
    image: DecodedImage
    ocr_text: str

    @property
    def sha256(self) -> str:
        return self.image.sha256


def _text_modality(modality: Modality) -> Modality:
    """Text in an uploaded image is judged like a prompt; text in an output like output text."""
    return Modality.OUTPUT_TEXT if modality is Modality.OUTPUT_IMAGE else Modality.PROMPT


def _from_text(result: DetectorResult, source: str) -> DetectorResult:
    evidence = tuple(
        e.model_copy(update={"detail": f"in {source}" + (f": {e.detail}" if e.detail else "")})
        for e in result.evidence
    )
    tag = "ocr" if source.startswith("text read") else "prompt"
    return result.model_copy(
        update={"detector": f"{result.detector}[{tag}]", "evidence": evidence, "derived": ()}
    )


def _prompt_context(moderator: Moderator, prompt: str) -> DetectorResult:
    """The prompt's modifier signals (a minor, a real person), for combination with the image:
    a minor in the prompt + any sexual score on the image => ``sexual/minors``. The prompt's
    other categories are judged on the prompt itself, not charged to the image. A detector that
    fails on the prompt fails this result too, so the pack's failure mode applies."""
    taxonomy = load_taxonomy()
    item = ScanItem(prompt, Modality.PROMPT)
    item.lang = detect_language(item.normalized.text)
    results = moderator.scan_with_derived(item)
    modifiers = {c for c, cat in taxonomy.categories.items() if cat.kind == "modifier"}
    scores: dict[str, float] = {}
    evidence: list[Evidence] = []
    for result in results:
        for category, score in result.scores.items():
            if category in modifiers and score > scores.get(category, 0.0):
                scores[category] = score
        evidence += [
            e.model_copy(update={"detail": "in the prompt" + (f": {e.detail}" if e.detail else "")})
            for e in result.evidence
            if e.category in modifiers
        ]
    errors = [f"{r.detector}: {r.error}" for r in results if r.error]
    return DetectorResult(
        detector=PROMPT_CONTEXT,
        version="1.0.0",
        scores=scores,
        evidence=tuple(evidence),
        explanation="modifier signals of the prompt that produced or accompanies the image",
        error="; ".join(errors) if errors else None,
    )


def check_image(
    moderator: Moderator,
    data: bytes,
    modality: Modality = Modality.INPUT_IMAGE,
    *,
    prompt: str | None = None,
    limits: ImageLimits | None = None,
) -> ImageCheck:
    if modality not in IMAGE_MODALITIES:
        raise ImageInputError(
            f"modality {modality.value!r} is not an image modality "
            f"(use {', '.join(m.value for m in IMAGE_MODALITIES)})",
            code="bad_modality",
        )
    try:
        from aupguard.images.decode import decode_image
    except ImportError as exc:
        raise ImportError(
            f"checking images needs the images extra: pip install 'aupguard[images]' ({exc})"
        ) from exc
    decoded = decode_image(data, limits or ImageLimits.from_env())
    results = moderator.scan(ScanItem("", modality, image=decoded))

    ocr_parts = [d.text for r in results for d in r.derived if d.encoding == "ocr"]
    ocr_text = "\n".join(ocr_parts)[: moderator.limits.max_text_chars]
    lang = None
    example_scores = None
    if ocr_text.strip():
        text_item = ScanItem(ocr_text, _text_modality(modality))
        lang = text_item.lang = detect_language(text_item.normalized.text)
        results += [
            _from_text(r, "text read from the image")
            for r in moderator.scan_with_derived(text_item)
        ]
        if any(clause_applies(c, modality) for c in moderator.examples.clauses):
            example_scores, examples_result = moderator.score_examples(text_item)
            results.append(examples_result)
    if prompt is not None and prompt.strip():
        results.append(_prompt_context(moderator, prompt[: moderator.limits.max_text_chars]))
    # the derived texts were scanned above; they are not evidence of their own
    results = [r.model_copy(update={"derived": ()}) if r.derived else r for r in results]
    verdict = decide(
        moderator.pack.pack, results, modality, lang=lang, example_scores=example_scores
    )
    return ImageCheck(verdict=verdict, image=decoded, ocr_text=ocr_text)
