"""Output obligations: invisible watermark, C2PA provenance, AI disclosure, human review.

Needs the ``provenance`` extra (``pip install 'aupguard[provenance]'``: Pillow,
c2pa-python, cryptography); the core imports nothing from here.

The gateway's hook, called once an output passed moderation::

    from aupguard.provenance import ProvenanceSettings, apply_output_obligations

    settings = ProvenanceSettings.from_env()          # once, at start-up
    result = apply_output_obligations(
        image_bytes,                                   # JPEG or PNG from the generator
        generation_id="gen_01H...",                    # the gateway's id for this generation
        pack=resolved_pack,                            # the PolicyPack the request ran under
        verdict=output_verdict,                        # Verdict on the output (not block)
        settings=settings,
    )
    if result.review_required:                         # the pack requires human review:
        queue_for_review(result)                       #   release only on approval
    else:
        respond(result.image, media_type=result.media_type, headers=result.headers)

``ObligationResult`` carries the marked image bytes, the ``watermark`` payload (operator id,
generation tag, timestamp), the C2PA ``manifest`` summary (validated right after signing),
the ``disclosures`` and HTTP ``headers``, the ``obligations`` applied with the clauses that
required each (``sources``), and ``review_required`` / ``review_reasons``.
``apply_text_obligations(text, ...)`` does the same for text outputs (disclosure appended and
in headers, review flag; no watermark).

Which obligations apply is data: the pack's ``surface: obligation`` clauses name
``obligations: [watermark, provenance_manifest, ai_disclosure, human_review]`` and their
``disclosure`` text; clauses with categories apply when the verdict shows they fired; the
operator's ``AUPGUARD_PROVENANCE_BASELINE`` adds obligations for every output.

Errors: ``ImageInputError`` (an image it cannot mark: unsupported format, truncated, CMYK,
16-bit, animated), ``SigningError`` (bad credentials), ``ProvenanceError`` (a blocked verdict,
a manifest that fails to validate). On any of them the output must be held, not sent unmarked.

``verify_image(data, settings)`` answers "did this come from our service?" (watermark,
manifest validity and claims, stripped metadata); ``provenance_circumvention_signal`` turns
an input image plus prompt into a ``circumvention`` detector result.
"""

from __future__ import annotations

from aupguard.provenance.circumvention import provenance_circumvention_signal
from aupguard.provenance.errors import (
    ImageInputError,
    MissingExtraError,
    ProvenanceError,
    SigningError,
)
from aupguard.provenance.facade import (
    ObligationResult,
    apply_output_obligations,
    apply_text_obligations,
)
from aupguard.provenance.manifest import ManifestSummary
from aupguard.provenance.obligations import RequiredObligations, required_obligations
from aupguard.provenance.payload import WatermarkPayload
from aupguard.provenance.settings import ProvenanceSettings
from aupguard.provenance.verify import VerificationReport, verify_image

__all__ = [
    "ImageInputError",
    "ManifestSummary",
    "MissingExtraError",
    "ObligationResult",
    "ProvenanceError",
    "ProvenanceSettings",
    "RequiredObligations",
    "SigningError",
    "VerificationReport",
    "WatermarkPayload",
    "apply_output_obligations",
    "apply_text_obligations",
    "provenance_circumvention_signal",
    "required_obligations",
    "verify_image",
]
