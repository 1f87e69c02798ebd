"""Output obligations for the gateway from the provenance package: invisible watermark, C2PA
manifest, AI-generated disclosure (XMP and response metadata), and human review before release
where the pack requires it.

Fail closed: an output that cannot be marked is held (the gateway reports it as held), never
sent unmarked.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aupguard.api.seams import ObligatedOutput
from aupguard.engine.verdict import Verdict
from aupguard.policy.registry import ResolvedPack

if TYPE_CHECKING:
    from aupguard.api.settings import Settings
    from aupguard.provenance import ProvenanceSettings


class ObligationFailedError(Exception):
    """The output could not be marked as the pack requires; it must be held."""


class ProvenanceObligations:
    """The ``OutputObligations`` seam over ``aupguard.provenance.apply_output_obligations``."""

    def __init__(self, settings: ProvenanceSettings):
        self.settings = settings

    def apply(
        self, image: bytes, generation_id: str, pack: ResolvedPack, verdict: Verdict
    ) -> ObligatedOutput:
        from aupguard.provenance import ProvenanceError, apply_output_obligations
        from aupguard.provenance.errors import ImageInputError

        try:
            result = apply_output_obligations(
                image,
                generation_id=generation_id,
                pack=pack.pack,
                verdict=verdict,
                settings=self.settings,
            )
        except (ProvenanceError, ImageInputError) as exc:
            raise ObligationFailedError(str(exc)) from exc
        metadata = {
            "ai_generated": "true",
            "disclosure": " ".join(result.disclosures),
            "generation_id": generation_id,
            "policy": pack.ref,
            "obligations": ",".join(o.value for o in result.obligations),
        }
        if result.watermark is not None:
            metadata["watermark"] = result.watermark.to_bytes().hex()
        if result.manifest is not None:
            metadata["c2pa_manifest"] = result.manifest.label
            metadata["c2pa_validation"] = result.manifest.validation_state
        return ObligatedOutput(
            data=result.image if result.image is not None else image,
            metadata=metadata,
            review_required=result.review_required,
            review_reasons=tuple(result.review_reasons),
        )


def provenance_obligations(settings: Settings) -> ProvenanceObligations:
    """Provenance settings from ``AUPGUARD_PROVENANCE_*``/``AUPGUARD_WATERMARK_*``/
    ``AUPGUARD_C2PA_*``; development certificates live under the service's data directory
    unless ``AUPGUARD_PROVENANCE_DIR`` says otherwise."""
    from aupguard.provenance import ProvenanceSettings

    provenance = ProvenanceSettings.from_env()
    if not os.environ.get("AUPGUARD_PROVENANCE_DIR"):
        provenance = provenance.model_copy(update={"data_dir": settings.data_dir / "provenance"})
    return ProvenanceObligations(provenance)
