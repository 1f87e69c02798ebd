from __future__ import annotations

import pytest

from aupguard.detectors.base import DetectorResult
from aupguard.engine.decide import decide
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Clause, Modality, ObligationKind, PolicyPack, Surface
from aupguard.provenance import (
    ProvenanceError,
    apply_output_obligations,
    apply_text_obligations,
    required_obligations,
)
from aupguard.provenance.settings import ProvenanceSettings
from aupguard.provenance.testing import encode, synthetic_image

W, M, D, R = (
    ObligationKind.WATERMARK,
    ObligationKind.PROVENANCE_MANIFEST,
    ObligationKind.AI_DISCLOSURE,
    ObligationKind.HUMAN_REVIEW,
)


def _verdict(pack: PolicyPack, modality: Modality, **scores: float) -> Verdict:
    result = DetectorResult(detector="fixture", version="1", scores=scores)
    return decide(pack, [result], modality)


def test_obligations_are_pack_data_not_code(packs: dict[str, PolicyPack]) -> None:
    krea = required_obligations(
        packs["krea-2"], _verdict(packs["krea-2"], Modality.OUTPUT_IMAGE), Modality.OUTPUT_IMAGE
    )
    assert krea.kinds == (W, M, D)
    assert krea.sources[W] == ("krea-2@1.0.0 §8.provenance",)
    # gpt-image2-design names no output obligation: without a baseline nothing applies
    gpt = packs["gpt-image2-design"]
    assert (
        required_obligations(gpt, _verdict(gpt, Modality.OUTPUT_IMAGE), Modality.OUTPUT_IMAGE).kinds
        == ()
    )
    # the operator baseline applies to every pack
    with_baseline = required_obligations(
        gpt, _verdict(gpt, Modality.OUTPUT_IMAGE), Modality.OUTPUT_IMAGE, (W,)
    )
    assert with_baseline.kinds == (W,) and with_baseline.sources[W] == ("baseline",)


def test_category_obligations_apply_only_when_their_clause_fired(
    packs: dict[str, PolicyPack],
) -> None:
    pack = packs["general-usage"]
    plain = required_obligations(pack, _verdict(pack, Modality.OUTPUT_TEXT), Modality.OUTPUT_TEXT)
    assert R not in plain.kinds
    medical = _verdict(pack, Modality.OUTPUT_TEXT, **{"regulated-advice/medical": 0.95})
    required = required_obligations(pack, medical, Modality.OUTPUT_TEXT)
    assert R in required.kinds and D in required.kinds
    assert "general-usage@1.0.0 §2.1-healthcare" in required.review_reasons
    assert any("licensed professional" in d for d in required.disclosures)


def test_same_advice_disclosed_by_one_pack_held_for_review_by_another(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings
) -> None:
    text = "Based on these symptoms, a typical adult dose would be..."
    octo = packs["octoai"]
    v = _verdict(octo, Modality.OUTPUT_TEXT, **{"regulated-advice/medical": 0.95})
    released = apply_text_obligations(
        text, generation_id="g-octo", pack=octo, verdict=v, settings=settings
    )
    assert not released.review_required
    assert released.text is not None and "not legal, medical or financial advice" in released.text
    assert released.headers["X-AI-Generated"] == "true"
    stability = packs["stability-ai"]
    v2 = _verdict(stability, Modality.OUTPUT_TEXT, **{"regulated-advice/medical": 0.95})
    held = apply_text_obligations(
        text, generation_id="g-stab", pack=stability, verdict=v2, settings=settings
    )
    assert held.review_required
    assert held.headers["X-Aupguard-Review-Required"] == "true"
    assert any("essential-services-advice" in r for r in held.review_reasons)


def test_obligations_on_a_non_obligation_clause_are_a_load_error() -> None:
    with pytest.raises(ValueError, match="surface `obligation`"):
        Clause(
            id="x",
            title="t",
            quote="q",
            surface=Surface.CONTENT,
            categories=("hate",),
            action="block",
            obligations=(W,),
        )  # type: ignore[arg-type]


def test_a_blocked_output_gets_no_obligations(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings
) -> None:
    pack = packs["krea-2"]
    blocked = _verdict(pack, Modality.OUTPUT_IMAGE, **{"sexual/minors": 0.99})
    assert blocked.action.value == "block"
    with pytest.raises(ProvenanceError, match="blocks"):
        apply_output_obligations(
            encode(synthetic_image(128, 128)),
            generation_id="g",
            pack=pack,
            verdict=blocked,
            settings=settings,
        )


def test_non_ascii_disclosure_travels_in_headers(
    packs: dict[str, PolicyPack], settings: ProvenanceSettings
) -> None:
    pack = packs["krea-2"].model_copy(
        update={
            "clauses": tuple(
                c.model_copy(update={"disclosure": "本内容由人工智能生成。"})
                if c.id == "9.human-created"
                else c
                for c in packs["krea-2"].clauses
            )
        }
    )
    result = apply_text_obligations(
        "hi",
        generation_id="g",
        pack=pack,
        verdict=_verdict(pack, Modality.OUTPUT_TEXT),
        settings=settings,
    )
    value = result.headers["X-AI-Disclosure"]
    value.encode("latin-1")  # must be sendable
    assert "UTF-8''" in value
