"""The decision engine: signals + pack -> verdict, pure and deterministic."""

from __future__ import annotations

import pytest

from aupguard.detectors.base import DetectorResult, Evidence
from aupguard.engine.decide import decide
from aupguard.policy.models import Action, Modality, PolicyPack

PACK = PolicyPack.model_validate(
    {
        "id": "test-pack",
        "name": "Test",
        "version": "1.2.3",
        "defaults": {"thresholds": {"review": 0.5, "block": 0.8}},
        "clauses": [
            {
                "id": "csam",
                "title": "No CSAM",
                "quote": "No CSAM.",
                "surface": "content",
                "categories": ["sexual/minors"],
                "thresholds": {"sexual/minors": {"review": 0.2, "block": 0.4}},
                "action": "block",
                "ladder_weight": 100,
            },
            {
                "id": "sex",
                "title": "No sex",
                "quote": "No sexual content.",
                "surface": "content",
                "categories": ["sexual"],
                "action": "block",
            },
            {
                "id": "ncii",
                "title": "No NCII",
                "quote": "No NCII.",
                "surface": "content",
                "categories": ["sexual/non-consensual"],
                "action": "block",
            },
            {
                "id": "med",
                "title": "Medical advice",
                "quote": "Medical advice needs disclosure.",
                "surface": "obligation",
                "categories": ["regulated-advice/medical"],
                "action": "allow_with_disclosure",
                "disclosure": "Not medical advice.",
            },
            {
                "id": "spam",
                "title": "No spam",
                "quote": "No spam.",
                "surface": "content",
                "categories": ["spam"],
                "action": "review",
            },
            {
                "id": "keys",
                "title": "No key sharing",
                "quote": "No sharing keys.",
                "surface": "behaviour",
                "categories": ["abuse/key-sharing"],
                "modalities": ["account_events"],
                "action": "block",
            },
            {
                "id": "img-only",
                "title": "Images only",
                "quote": "Gore in images.",
                "surface": "content",
                "categories": ["violence/graphic"],
                "modalities": ["output_image"],
                "action": "block",
            },
        ],
    }
)


def signal(
    scores: dict[str, float], name: str = "test", error: str | None = None
) -> DetectorResult:
    return DetectorResult(detector=name, version="1", scores=scores, error=error)


@pytest.mark.parametrize(
    ("scores", "action", "clauses"),
    [
        ({}, Action.ALLOW, []),
        ({"sexual": 0.49}, Action.ALLOW, []),
        ({"sexual": 0.5}, Action.REVIEW, ["sex"]),
        ({"sexual": 0.79}, Action.REVIEW, ["sex"]),
        ({"sexual": 0.8}, Action.BLOCK, ["sex"]),
        ({"spam": 0.95}, Action.REVIEW, ["spam"]),  # the clause's own action caps it
        ({"spam": 0.6}, Action.REVIEW, ["spam"]),
        ({"regulated-advice/medical": 0.9}, Action.ALLOW_WITH_DISCLOSURE, ["med"]),
        # review band of an allow_with_disclosure clause stays allow_with_disclosure
        ({"regulated-advice/medical": 0.6}, Action.ALLOW_WITH_DISCLOSURE, ["med"]),
        ({"regulated-advice/medical": 0.9, "spam": 0.9}, Action.REVIEW, ["spam", "med"]),
        ({"sexual/minors": 0.25}, Action.REVIEW, ["csam"]),
        ({"sexual/minors": 0.45, "spam": 0.9}, Action.BLOCK, ["csam", "spam"]),
        ({"hate": 0.99}, Action.ALLOW, []),  # no clause of this pack covers hate
        ({"abuse/key-sharing": 0.99}, Action.ALLOW, []),  # behaviour clauses ignore prompts
        ({"violence/graphic": 0.99}, Action.ALLOW, []),  # a clause for output images only
    ],
)
def test_thresholds_and_strictest_action(
    scores: dict[str, float], action: Action, clauses: list[str]
) -> None:
    verdict = decide(PACK, [signal(scores)], Modality.PROMPT)
    assert verdict.action is action
    assert [h.clause_id for h in verdict.clauses] == clauses
    assert verdict.flagged is (action in (Action.REVIEW, Action.BLOCK))


def test_clause_hit_cites_pack_clause_and_thresholds() -> None:
    verdict = decide(PACK, [signal({"sexual": 0.9})])
    (hit,) = verdict.clauses
    assert (hit.pack_id, hit.pack_version, hit.clause_id) == ("test-pack", "1.2.3", "sex")
    assert hit.quote == "No sexual content."
    assert (hit.score, hit.review_threshold, hit.block_threshold) == (0.9, 0.5, 0.8)
    assert hit.citation == "test-pack@1.2.3 §sex"


def test_modality_restricted_clause_applies_to_its_modality() -> None:
    verdict = decide(PACK, [signal({"violence/graphic": 0.9})], Modality.OUTPUT_IMAGE)
    assert verdict.action is Action.BLOCK
    assert [h.clause_id for h in verdict.clauses] == ["img-only"]


def test_behaviour_clause_applies_to_account_events() -> None:
    verdict = decide(PACK, [signal({"abuse/key-sharing": 0.9})], Modality.ACCOUNT_EVENTS)
    assert [h.clause_id for h in verdict.clauses] == ["keys"]


@pytest.mark.parametrize(
    ("scores", "combined", "expected"),
    [
        ({"sexual": 0.6, "signal/minor": 0.9}, "sexual/minors", 0.6),
        ({"sexual/suggestive": 0.55, "signal/minor": 0.9}, "sexual/minors", 0.55),
        ({"sexual": 0.9, "signal/real-person": 0.7}, "sexual/non-consensual", 0.7),
    ],
)
def test_combinations(scores: dict[str, float], combined: str, expected: float) -> None:
    verdict = decide(PACK, [signal(scores)])
    assert verdict.scores[combined] == expected
    assert any(c.result == combined for c in verdict.combinations)
    assert combined in verdict.categories


def test_minor_alone_or_sexual_alone_do_not_combine() -> None:
    assert "sexual/minors" not in decide(PACK, [signal({"signal/minor": 0.95})]).scores
    assert decide(PACK, [signal({"signal/minor": 0.95})]).action is Action.ALLOW
    verdict = decide(PACK, [signal({"sexual": 0.6})])
    assert "sexual/minors" not in verdict.scores


def test_minor_plus_sexual_from_different_detectors_blocks_as_csam() -> None:
    verdict = decide(PACK, [signal({"sexual": 0.55}, "a"), signal({"signal/minor": 0.9}, "b")])
    assert verdict.action is Action.BLOCK
    assert verdict.clauses[0].clause_id == "csam"


def test_strongest_signal_across_detectors_wins() -> None:
    verdict = decide(PACK, [signal({"sexual": 0.3}, "a"), signal({"sexual": 0.85}, "b")])
    assert verdict.scores["sexual"] == 0.85
    assert verdict.action is Action.BLOCK


@pytest.mark.parametrize(
    ("mode", "action"),
    [
        (None, Action.BLOCK),
        ("block", Action.BLOCK),
        ("review", Action.REVIEW),
        ("allow", Action.ALLOW),
    ],
)
def test_detector_failure_fails_closed_unless_configured_open(
    mode: str | None, action: Action
) -> None:
    pack = PACK
    if mode is not None:
        pack = PolicyPack.model_validate(
            PACK.model_dump(mode="json") | {"defaults": {"failure_mode": {"content": mode}}}
        )
    verdict = decide(pack, [signal({}, error="RuntimeError: model missing")])
    assert verdict.action is action
    assert verdict.errors == ("test: RuntimeError: model missing",)


def test_disclosures_and_evidence_are_carried() -> None:
    ev = Evidence(category="regulated-advice/medical", score=0.9, start=4, end=9, text="dose")
    result = DetectorResult(
        detector="t", version="1", scores={"regulated-advice/medical": 0.9}, evidence=(ev,)
    )
    verdict = decide(PACK, [result])
    assert verdict.disclosures == ("Not medical advice.",)
    assert verdict.evidence == (ev,)


def test_decide_is_deterministic() -> None:
    results = [
        signal({"sexual": 0.7, "spam": 0.9, "signal/minor": 0.8}, "a"),
        signal({"hate": 0.4}, "b"),
    ]
    first = decide(PACK, results).model_dump()
    for _ in range(5):
        assert decide(PACK, list(reversed(results))).model_dump() == first
