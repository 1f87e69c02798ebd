"""Pack analysis: where two packs differ, and which clauses a detector enforces yet."""

from __future__ import annotations

from aupguard.policy.analysis import Enforcement, category_rules, clause_enforcement, diff_packs
from aupguard.policy.models import Action, Clause
from aupguard.policy.registry import default_registry


def test_diff_of_a_pack_with_itself_is_empty() -> None:
    pack = default_registry().get("stability-ai").pack
    assert diff_packs(pack, pack) == []


def test_diff_krea_and_gpt_image2_shows_the_seed_differences() -> None:
    registry = default_registry()
    diffs = {
        d.category: d
        for d in diff_packs(registry.get("krea-2").pack, registry.get("gpt-image2-design").pack)
    }
    assert diffs["sexual/suggestive"].left.action is Action.ALLOW
    assert diffs["sexual/suggestive"].right.action is Action.BLOCK
    assert diffs["sexual"].left.action is Action.REVIEW
    assert diffs["violence/graphic"].left.action is Action.ALLOW
    assert "sexual/minors" not in diffs  # both block it at the same thresholds


def test_category_rules_take_the_strictest_clause() -> None:
    rules = category_rules(default_registry().get("stability-ai").pack)
    assert rules["sexual/minors"].action is Action.BLOCK
    assert rules["sexual/minors"].block == 0.4
    assert "abuse/ban-evasion" not in rules  # behaviour clauses are not content rules


def clause(categories: list[str]) -> Clause:
    return Clause.model_validate(
        {
            "id": "x",
            "title": "t",
            "quote": "q",
            "surface": "use-case" if categories else "obligation",
            "categories": categories,
            "action": "block",
        }
    )


def test_clause_enforcement_status() -> None:
    covered = {"sexual", "spam"}
    assert clause_enforcement(clause(["sexual", "spam"]), covered) is Enforcement.ENFORCED
    assert (
        clause_enforcement(clause(["sexual", "abuse/key-sharing"]), covered) is Enforcement.PARTIAL
    )
    assert clause_enforcement(clause(["abuse/key-sharing"]), covered) is Enforcement.NOT_YET
    assert clause_enforcement(clause([]), covered) is Enforcement.RECORDED
