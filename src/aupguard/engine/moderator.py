"""Run detectors over an item and decide it under a pack.

Detectors that raise or fail are recorded as errors; the pack's failure mode for the surface
then decides (closed by default), so a broken detector never silently allows.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aupguard.detectors.base import DerivedText, Detector, DetectorResult, ScanItem
from aupguard.detectors.registry import DetectorRegistry
from aupguard.detectors.registry import default_registry as default_detectors
from aupguard.engine.decide import clause_applies, decide
from aupguard.engine.examples import ExampleMatcher, ExampleScore
from aupguard.engine.verdict import Verdict
from aupguard.errors import InputError
from aupguard.policy.models import Modality
from aupguard.policy.registry import ResolvedPack
from aupguard.text.lang import detect_language
from aupguard.text.normalize import normalize

if TYPE_CHECKING:
    from aupguard.engine.image_check import ImageCheck

DEFAULT_MAX_TEXT_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class Limits:
    max_text_chars: int = DEFAULT_MAX_TEXT_CHARS

    @classmethod
    def from_env(cls) -> Limits:
        raw = os.environ.get("AUPGUARD_MAX_TEXT_CHARS")
        if raw is None:
            return cls()
        try:
            value = int(raw)
        except ValueError:
            raise InputError(
                f"AUPGUARD_MAX_TEXT_CHARS must be a whole number, got {raw!r}", code="bad_setting"
            ) from None
        if value < 1:
            raise InputError("AUPGUARD_MAX_TEXT_CHARS must be at least 1", code="bad_setting")
        return cls(max_text_chars=value)


def validate_text(text: str, limits: Limits) -> None:
    if not text.strip():
        raise InputError("the text is empty (nothing to check)", code="empty_input")
    if len(text) > limits.max_text_chars:
        raise InputError(
            f"the text is {len(text):,} characters; the limit is {limits.max_text_chars:,} "
            "(set AUPGUARD_MAX_TEXT_CHARS to change it)",
            code="input_too_large",
        )
    if "\x00" in text:
        raise InputError("the text contains NUL characters (binary data?)", code="binary_input")


class Moderator:
    """A pack plus the detectors that serve it."""

    def __init__(
        self,
        pack: ResolvedPack,
        detectors: Sequence[Detector] | None = None,
        *,
        registry: DetectorRegistry | None = None,
        limits: Limits | None = None,
    ):
        self.pack = pack
        self.detectors = (
            list(detectors)
            if detectors is not None
            else (registry or default_detectors()).create_all()
        )
        self.limits = limits or Limits()
        # few-shot clauses; their examples are embedded in one batch on first use
        self.examples = ExampleMatcher(pack.pack)

    def scan(self, item: ScanItem) -> list[DetectorResult]:
        results = []
        for detector in self.detectors:
            if item.modality not in detector.modalities:
                continue
            started = time.perf_counter()
            try:
                result = detector.scan(item)
            except Exception as exc:  # fail closed: the error becomes part of the verdict
                result = DetectorResult(
                    detector=detector.name,
                    version=detector.version,
                    error=f"{type(exc).__name__}: {exc}",
                )
            elapsed = (time.perf_counter() - started) * 1000
            results.append(result.model_copy(update={"elapsed_ms": round(elapsed, 3)}))
        return results

    def scan_with_derived(self, item: ScanItem) -> list[DetectorResult]:
        """Scan the item, then every text a detector recovered from it (decoded payloads), so
        a wrapped request is judged on its content too. Results on recovered text point their
        evidence at the encoded span of the original text. Bounded in count and depth."""
        results = self.scan(item)
        queue = [(d, 1) for r in results for d in r.derived]
        seen: set[str] = set()
        while queue and len(seen) < MAX_DERIVED_TEXTS:
            derived, depth = queue.pop(0)
            text = derived.text
            if not text.strip() or text in seen or len(text) > self.limits.max_text_chars:
                continue
            seen.add(text)
            for result in self.scan(ScanItem(text, item.modality)):
                results.append(_relocate(result, derived, item.text))
                if depth < MAX_DERIVED_DEPTH:
                    queue.extend(
                        (
                            DerivedText(
                                text=inner.text,
                                encoding=f"{derived.encoding}>{inner.encoding}",
                                start=derived.start,
                                end=derived.end,
                            ),
                            depth + 1,
                        )
                        for inner in result.derived
                    )
        return results

    def prepare(self, texts: Sequence[str]) -> None:
        """Embed many texts in one batch ahead of ``check`` (fills the embedder's cache), for
        throughput when checking a file or a request with many inputs."""
        if self.examples or any(getattr(d, "uses_embeddings", False) for d in self.detectors):
            from aupguard.embeddings import get_embedder

            # only a cache warm-up: a failure here recurs inside the detector at check time,
            # where it is recorded and the pack's failure mode applies (fail closed)
            with contextlib.suppress(Exception):
                get_embedder().embed([normalize(t).text for t in texts if t.strip()])

    def check_many(
        self, texts: Sequence[str], modality: Modality = Modality.PROMPT
    ) -> list[Verdict]:
        self.prepare([t for t in texts if len(t) <= self.limits.max_text_chars])
        return [self.check(t, modality) for t in texts]

    def check(self, text: str, modality: Modality = Modality.PROMPT) -> Verdict:
        validate_text(text, self.limits)
        item = ScanItem(text, modality)
        lang = detect_language(item.normalized.text)
        item.lang = lang
        results = self.scan_with_derived(item)
        example_scores = None
        if any(clause_applies(c, modality) for c in self.examples.clauses):
            example_scores, result = self.score_examples(item)
            results.append(result)
        return decide(self.pack.pack, results, modality, lang=lang, example_scores=example_scores)

    def check_image(
        self,
        data: bytes,
        modality: Modality = Modality.INPUT_IMAGE,
        *,
        prompt: str | None = None,
    ) -> Verdict:
        """Check an image (an upload, or a generated output with ``Modality.OUTPUT_IMAGE``).
        ``prompt`` is the prompt that produced or accompanies it: its minor / real-person
        signals combine with the image's. Unusable bytes raise ``ImageInputError``."""
        return self.check_image_detailed(data, modality, prompt=prompt).verdict

    def check_image_detailed(
        self,
        data: bytes,
        modality: Modality = Modality.INPUT_IMAGE,
        *,
        prompt: str | None = None,
    ) -> ImageCheck:
        """``check_image`` plus the decoded file: SHA-256, PDQ hash, metadata found, the text
        read from it, and a metadata-free copy to store."""
        from aupguard.engine.image_check import check_image

        return check_image(self, data, modality, prompt=prompt)

    def score_examples(self, item: ScanItem) -> tuple[dict[str, ExampleScore], DetectorResult]:
        """The item against the pack's few-shot clauses, reusing ``item.embedding``. A failure
        (no embedder) comes back as an errored result, so the pack's failure mode applies."""
        started = time.perf_counter()
        scores: dict[str, ExampleScore] = {}
        error = None
        try:
            scores = self.examples.score(item.embedding)
        except Exception as exc:  # fail closed, like a detector
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        result = DetectorResult(
            detector="examples",
            version=self.examples.version,
            error=error,
            elapsed_ms=round(elapsed, 3),
        )
        return scores, result


MAX_DERIVED_TEXTS = 8
MAX_DERIVED_DEPTH = 2


def _relocate(result: DetectorResult, derived: DerivedText, original: str) -> DetectorResult:
    """A result on recovered text, re-labelled and with evidence on the encoded span."""
    span = original[derived.start : derived.end]
    evidence = tuple(
        e.model_copy(
            update={
                "start": derived.start,
                "end": derived.end,
                "text": span,
                "detail": f"in decoded {derived.encoding} text: {e.text!r}"
                + (f"; {e.detail}" if e.detail else ""),
            }
        )
        for e in result.evidence
    )
    return result.model_copy(
        update={
            "detector": f"{result.detector}[{derived.encoding}]",
            "evidence": evidence,
            "derived": (),
        }
    )
