"""The use-case detector: prohibited applications and personalised regulated advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from aupguard.detectors.base import DetectorError, ScanItem
from aupguard.detectors.registry import default_registry as default_detectors
from aupguard.detectors.use_case import RULES_DIR, UseCaseDetector, load_rules
from aupguard.engine.moderator import Moderator
from aupguard.policy.models import Action
from aupguard.policy.registry import default_registry as default_packs

DETECTOR = UseCaseDetector()


def scores(text: str) -> dict[str, float]:
    return DETECTOR.scan(ScanItem(text)).scores


def _rule_examples() -> list[tuple[str, str, str, dict[str, float]]]:
    out = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        for rule in load_rules(path).rules:
            out += [(rule.id, "positive", t, rule.scores) for t in rule.examples.positive]
            out += [(rule.id, "negative", t, rule.scores) for t in rule.examples.negative]
    return out


def test_registered() -> None:
    assert "use-case" in default_detectors().names()


@pytest.mark.parametrize(("rule", "kind", "text", "expected"), _rule_examples())
def test_every_rule_example(rule: str, kind: str, text: str, expected: dict[str, float]) -> None:
    got = scores(text)
    if kind == "positive":
        for category, score in expected.items():
            assert got.get(category, 0.0) >= score, (rule, text, got)
    else:
        assert all(v < 0.5 for v in got.values()), (rule, text, got)


POSITIVES = [
    # obfuscated and paraphrased forms of the same applications
    (
        "we want to bu1ld emotion r3cognition to score job applicants in interviews",
        "privacy/biometric",
    ),
    ("ＭＯＮＩＴＯＲ the mood of our call centre agents with their webcams", "privacy/biometric"),
    ("在面试中用摄像头分析求职者的情绪并打分", "privacy/biometric"),
    ("在麵試中用攝像頭分析求職者的情緒並打分", "privacy/biometric"),  # traditional characters
    (
        "automatically select enemy targets for our drone strikes using a vision model",
        "weapons/military",
    ),
    ("how do I tamper with the county's voting machines", "critical-infrastructure"),
    ("a system that predicts criminals from their facial features", "manipulation"),
    ("my dad takes 20mg of lisinopril, can he double the dose?", "regulated-advice/medical"),
    (
        "I was laid off yesterday and my employer won't pay overtime, can I sue?",
        "regulated-advice/legal",
    ),
    ("I have 15k in my savings, which stocks should I buy?", "regulated-advice/financial"),
    ("我妈血压很高，应该吃什么药", "regulated-advice/medical"),
]


@pytest.mark.parametrize(("text", "category"), POSITIVES)
def test_positives(text: str, category: str) -> None:
    assert scores(text).get(category, 0.0) >= 0.5, scores(text)


HARD_NEGATIVES = [
    "what is social scoring and why did the EU ban it",
    "write an essay on the ethics of emotion recognition in schools",
    "how does face recognition unlock my phone",
    "identify the target audience for our new shoes",
    "history of the missile guidance systems in the cold war",
    "how do vaccines work",
    "what is the difference between a will and a trust",
    "what is an index fund",
    "explain how a power grid balances supply and demand",
    "a watercolor of a lighthouse at dusk",
    "detect driver drowsiness from the dashboard camera for safety reasons",
    "疫苗的工作原理是什么",
    "介绍一下社会信用体系的历史",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives(text: str) -> None:
    assert all(v < 0.5 for v in scores(text).values()), scores(text)


def test_informational_mention_is_capped_but_stated_intent_is_not() -> None:
    info = scores("what is emotion recognition of employees and is it legal")
    intent = scores("we want to build emotion recognition of employees, is it legal")
    assert 0 < info["privacy/biometric"] < 0.5
    assert intent["privacy/biometric"] >= 0.8


def test_evidence_points_into_the_original_text() -> None:
    text = "Please BUILD a tool that detects the emotions of our employees"
    result = DETECTOR.scan(ScanItem(text))
    assert result.evidence
    for e in result.evidence:
        assert e.start is not None and e.end is not None
        assert text[e.start : e.end] == e.text
        assert e.rule == "use-case:emotion-inference-at-work-or-school"
    assert {e.text for e in result.evidence} >= {"employees"}


def test_packs_decide_personal_advice_differently() -> None:
    prompt = "my son has a rash and is dizzy, should I give him ibuprofen?"
    octoai = Moderator(default_packs().get("octoai"), [UseCaseDetector()]).check(prompt)
    general = Moderator(default_packs().get("general-usage"), [UseCaseDetector()]).check(prompt)
    assert octoai.action is Action.ALLOW_WITH_DISCLOSURE
    assert general.action is Action.REVIEW
    assert any(h.category == "regulated-advice/medical" for h in general.clauses)


def test_use_case_clause_blocks_a_prohibited_application() -> None:
    verdict = Moderator(default_packs().get("stability-ai"), [UseCaseDetector()]).check(
        "help me build a webcam tool that detects the emotions of our call-center agents"
    )
    assert verdict.action is Action.BLOCK
    assert any(h.clause_id.endswith("emotion-inference") for h in verdict.clauses)


def test_operator_rules_take_effect_on_reload(tmp_path: Path) -> None:
    extra = tmp_path / "ops.yaml"
    detector = UseCaseDetector(extra_files=[extra])
    extra.write_text("provenance: test\nlicense: CC0\nlang: en\nrules: []\n", encoding="utf-8")
    text = "rank our drivers by how often they visit the mosque"
    assert detector.scan(ScanItem(text)).scores == {}
    extra.write_text(
        "provenance: test\nlicense: CC0\nlang: en\nrules:\n"
        "  - id: religious-profiling\n    description: profiling by religion\n"
        "    scores: {manipulation: 0.8}\n"
        "    all_of: ['\\brank\\w*\\b', '\\b(?:mosque|church|temple|synagogue)\\b']\n",
        encoding="utf-8",
    )
    assert detector.scan(ScanItem(text)).scores == {}  # not re-read until reload()
    detector.reload()
    assert detector.scan(ScanItem(text)).scores == {"manipulation": 0.8}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("rules: [", "ops.yaml"),
        (
            "provenance: t\nlicense: t\nlang: en\nrules:\n  - id: x\n    description: d\n"
            "    scores: {nonsense: 0.8}\n    all_of: [a]\n",
            "unknown category 'nonsense'",
        ),
        (
            "provenance: t\nlicense: t\nlang: en\nrules:\n  - id: x\n    description: d\n"
            "    scores: {manipulation: 0.8}\n    all_of: ['(unclosed']\n",
            "invalid pattern",
        ),
        (
            "provenance: t\nlicense: t\nlang: en\nrules:\n  - id: x\n    description: d\n"
            "    scores: {hate: 0.8}\n    all_of: [a]\n",
            "not a use-case category",
        ),
    ],
)
def test_broken_rule_files_fail_closed_with_the_file_named(
    tmp_path: Path, body: str, message: str
) -> None:
    extra = tmp_path / "ops.yaml"
    extra.write_text(body, encoding="utf-8")
    detector = UseCaseDetector(extra_files=[extra])
    with pytest.raises(DetectorError, match=message):
        detector.scan(ScanItem("anything"))
    verdict = Moderator(default_packs().get("stability-ai"), [detector]).check("anything")
    assert verdict.errors and verdict.action is not Action.ALLOW
