"""The taxonomy is data: every DESIGN.md category exists and maps to OpenAI and MLCommons."""

from __future__ import annotations

import pytest

from aupguard.policy.taxonomy import Taxonomy, load_taxonomy

DESIGN_CONTENT = [
    "sexual",
    "sexual/suggestive",
    "sexual/minors",
    "sexual/non-consensual",
    "violence",
    "violence/graphic",
    "violence/animal-cruelty",
    "self-harm",
    "hate",
    "harassment",
    "extremism",
    "weapons",
    "weapons/military",
    "drugs",
    "illicit",
    "malware",
    "critical-infrastructure",
    "fraud",
    "spam",
    "academic-dishonesty",
    "disinformation",
    "elections",
    "impersonation",
    "privacy",
    "privacy/biometric",
    "surveillance",
    "manipulation",
    "intellectual-property",
    "regulated-advice/medical",
    "regulated-advice/legal",
    "regulated-advice/financial",
    "crypto-mining",
    "circumvention",
]
DESIGN_BEHAVIOUR = [
    "abuse/rate-limit-evasion",
    "abuse/key-sharing",
    "abuse/multi-account",
    "abuse/ban-evasion",
    "abuse/scraping",
    "abuse/model-extraction",
    "abuse/underage",
]


def test_every_design_category_is_present() -> None:
    tax = load_taxonomy()
    assert tax.ids("content") == DESIGN_CONTENT
    assert tax.ids("behaviour") == DESIGN_BEHAVIOUR
    assert set(tax.ids("modifier")) == {"signal/minor", "signal/real-person", "signal/face"}


@pytest.mark.parametrize("category", DESIGN_CONTENT)
def test_content_categories_map_to_mlcommons(category: str) -> None:
    cat = load_taxonomy().categories[category]
    assert cat.mlcommons, f"{category} has no MLCommons hazard"
    assert cat.description


@pytest.mark.parametrize(
    ("category", "openai", "hazard"),
    [
        ("sexual/minors", "sexual/minors", "S4"),
        ("self-harm", "self-harm/instructions", "S11"),
        ("hate", "hate", "S10"),
        ("violence/graphic", "violence/graphic", "S1"),
        ("weapons", "illicit/violent", "S9"),
        ("regulated-advice/medical", None, "S6"),
        ("elections", None, "S13"),
        ("intellectual-property", None, "S8"),
    ],
)
def test_known_mappings(category: str, openai: str | None, hazard: str) -> None:
    cat = load_taxonomy().categories[category]
    if openai:
        assert openai in cat.openai
    assert hazard in cat.mlcommons


def test_mlcommons_has_s1_to_s14() -> None:
    assert list(load_taxonomy().mlcommons_hazards) == [f"S{i}" for i in range(1, 15)]


def test_combination_with_unknown_category_is_rejected() -> None:
    data = load_taxonomy().model_dump()
    data["combinations"] = [
        {"id": "x", "all": ["sexual", "signal/elf"], "result": "sexual/minors", "min_score": 0.3}
    ]
    with pytest.raises(ValueError, match="signal/elf"):
        Taxonomy.model_validate(data)
