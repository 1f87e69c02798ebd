"""The built-in packs cover their seed policies completely, quote them verbatim, and differ
where the seeds differ.

The checklist (``seed_checklist.yaml``) lists every prohibition, obligation, age rule,
enforcement step and reporting channel of the five seed policies with the pack item that
must encode it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from aupguard.detectors.base import DetectorResult
from aupguard.engine.decide import decide
from aupguard.policy.models import Action, Modality, PolicyPack, Surface
from aupguard.policy.registry import builtin_pack_dir

PACK_DIR = builtin_pack_dir()
SEED_DIR = Path(__file__).parents[3] / "shared" / "seeds"
CHECKLIST: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parent / "seed_checklist.yaml").read_text(encoding="utf-8")
)
PACK_IDS = sorted(CHECKLIST["packs"])
SECTIONS = ("clauses", "enforcement", "reporting")

needs_seeds = pytest.mark.skipif(
    not SEED_DIR.is_dir(),
    reason=f"seed policies not found at {SEED_DIR} (they live beside the repository, "
    "in shared/seeds)",
)


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@cache
def pack(pack_id: str) -> PolicyPack:
    path = PACK_DIR / f"{pack_id}.yaml"
    return PolicyPack.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@cache
def seed_text(pack_id: str) -> str:
    return norm((SEED_DIR / CHECKLIST["packs"][pack_id]["seed"]).read_text(encoding="utf-8"))


def items(p: PolicyPack, section: str) -> dict[str, str]:
    """id -> quote of a pack's clauses, enforcement steps or reporting channels."""
    return {item.id: item.quote for item in getattr(p, section)}


def checklist_entries() -> list[Any]:
    return [
        pytest.param(pack_id, section, e["id"], e["phrase"], id=f"{pack_id}:{section}:{e['id']}")
        for pack_id in PACK_IDS
        for section in SECTIONS
        for e in CHECKLIST["packs"][pack_id][section]
    ]


# -- every pack file ----------------------------------------------------------------------------


def test_every_builtin_pack_is_in_the_checklist() -> None:
    assert sorted(p.stem for p in PACK_DIR.glob("*.yaml")) == PACK_IDS


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_pack_validates_and_its_id_is_the_file_stem(pack_id: str) -> None:
    p = pack(pack_id)
    assert p.id == pack_id
    assert p.version == "1.0.0"
    assert p.source is not None
    assert p.source.seed == CHECKLIST["packs"][pack_id]["seed"]


@needs_seeds
@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_quote_is_verbatim_from_the_seed(pack_id: str) -> None:
    seed = seed_text(pack_id)
    p = pack(pack_id)
    missing = [
        f"{section} {item_id}: {quote!r}"
        for section in SECTIONS
        for item_id, quote in items(p, section).items()
        if norm(quote) not in seed
    ]
    assert not missing, "quotes not found verbatim in the seed:\n" + "\n".join(missing)


# -- the checklist -------------------------------------------------------------------------------


@pytest.mark.parametrize(("pack_id", "section", "item_id", "phrase"), checklist_entries())
def test_checklist_item_is_encoded(pack_id: str, section: str, item_id: str, phrase: str) -> None:
    quotes = items(pack(pack_id), section)
    assert item_id in quotes, f"{pack_id} has no {section} item {item_id!r} for {phrase!r}"
    assert norm(phrase).casefold() in norm(quotes[item_id]).casefold(), (
        f"{pack_id} {section} {item_id}: quote {quotes[item_id]!r} lacks {phrase!r}"
    )


@needs_seeds
@pytest.mark.parametrize(("pack_id", "section", "item_id", "phrase"), checklist_entries())
def test_checklist_phrase_is_from_the_seed(
    pack_id: str, section: str, item_id: str, phrase: str
) -> None:
    assert norm(phrase).casefold() in seed_text(pack_id).casefold()


@pytest.mark.parametrize("pack_id", PACK_IDS)
@pytest.mark.parametrize("section", SECTIONS)
def test_pack_has_nothing_the_checklist_lacks(pack_id: str, section: str) -> None:
    listed = {e["id"] for e in CHECKLIST["packs"][pack_id][section]}
    assert set(items(pack(pack_id), section)) == listed


# -- facts that hold in every pack ---------------------------------------------------------------


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_csam_is_blocked_at_low_scores_with_full_ladder_weight(pack_id: str) -> None:
    p = pack(pack_id)
    csam = [c for c in p.clauses if "sexual/minors" in c.categories]
    assert csam, f"{pack_id} has no sexual/minors clause"
    for clause in csam:
        assert clause.action is Action.BLOCK
        assert clause.ladder_weight == 100
        t = p.thresholds_for(clause, "sexual/minors")
        assert (t.review, t.block) == (0.2, 0.4)
        assert clause.categories == ("sexual/minors",), "other categories would inherit weight 100"


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_surfaces_match_categories_and_modalities(pack_id: str) -> None:
    for clause in pack(pack_id).clauses:
        behaviour = clause.surface is Surface.BEHAVIOUR
        abuse = [c.startswith("abuse/") for c in clause.categories]
        assert all(abuse) if behaviour else not any(abuse), clause.id
        on_events = Modality.ACCOUNT_EVENTS in clause.modalities
        assert on_events is behaviour, clause.id
        if clause.action is Action.ALLOW_WITH_DISCLOSURE:
            assert clause.disclosure, f"{clause.id} needs a disclosure text"


# -- where the seeds differ, the packs differ ----------------------------------------------------


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_minimum_age(pack_id: str) -> None:
    assert pack(pack_id).defaults.minimum_age == CHECKLIST["minimum_age"][pack_id]


@pytest.mark.parametrize(
    "fact", CHECKLIST["category_presence"], ids=lambda f: f["category"].replace("/", "-")
)
def test_category_presence(fact: dict[str, Any]) -> None:
    assert sorted([*fact["present"], *fact["absent"]]) == PACK_IDS
    for pack_id in PACK_IDS:
        has = any(fact["category"] in c.categories for c in pack(pack_id).clauses)
        assert has is (pack_id in fact["present"]), f"{pack_id}: {fact['category']}"


@pytest.mark.parametrize("case", CHECKLIST["decisions"], ids=lambda c: c["name"].replace(" ", "-"))
def test_same_signals_decided_per_seed(case: dict[str, Any]) -> None:
    signal = DetectorResult(detector="fixture", version="1", scores=case["scores"])
    modality = Modality(case["modality"])
    got = {pack_id: decide(pack(pack_id), [signal], modality).action.value for pack_id in PACK_IDS}
    assert got == case["expect"]
