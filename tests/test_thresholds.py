"""Threshold proposals: a real moderator (a small in-test pack over the real lexicon detector,
with a test term list) on labelled records whose answer is known by construction."""

from __future__ import annotations

from pathlib import Path

import pytest

from aupguard.detectors.lexicon import LexiconDetector
from aupguard.engine.moderator import Moderator
from aupguard.evaluation import EvalRecord
from aupguard.policy.loader import parse_pack_text
from aupguard.policy.models import Action
from aupguard.policy.registry import PackRegistry, ResolvedPack
from aupguard.thresholds import (
    combined_operating_point,
    format_proposals,
    proposal_as_override_yaml,
    propose_from_scores,
    propose_thresholds,
    score_records,
)

PACK_YAML = """\
id: tune-test
name: Threshold tuning test
version: "1.0.0"
defaults:
  thresholds: {review: 0.5, block: 0.8}
clauses:
  - id: "4.2-no-spam"
    title: No spam
    quote: Do not send spam.
    surface: content
    categories: [spam]
    action: block
  - id: "4.3-no-weapons"
    title: No weapons
    quote: Do not build weapons.
    surface: content
    categories: [weapons]
    action: block
"""

# Made-up words, so the built-in lists cannot interfere: weights 0.55 (weak), 0.7, 0.95.
LEXICON = """\
provenance: written for tests/test_thresholds.py
category: spam
lang: en
inflect: false
terms:
  zorblax: 0.55
  quibbit: 0.7
  grumfrag: 0.95
"""


def rec(i: int, text: str, flagged: bool) -> EvalRecord:
    return EvalRecord(
        line=i,
        text=text,
        flagged=flagged,
        categories=("spam",) if flagged else (),
        lang="en",
        source="test",
    )


def records() -> list[EvalRecord]:
    """103 benign records, 3 of which hit a spam term (one 0.7, two weak 0.55), and 17 spam
    records (10 at 0.95, 5 at 0.7, 2 at 0.55)."""
    texts: list[tuple[str, bool]] = [(f"notes on the garden, entry {i}", False) for i in range(100)]
    texts += [("the quibbit sat on the shelf", False)]
    texts += [(f"a zorblax drawing, sketch {i}", False) for i in range(2)]
    texts += [(f"grumfrag offer {i} for you", True) for i in range(10)]
    texts += [(f"quibbit offer {i} for you", True) for i in range(5)]
    texts += [(f"zorblax offer {i} for you", True) for i in range(2)]
    return [rec(i, t, f) for i, (t, f) in enumerate(texts, 1)]


@pytest.fixture
def registry() -> PackRegistry:
    reg = PackRegistry()
    reg.add(parse_pack_text(PACK_YAML, "<tune-test>"))
    return reg


@pytest.fixture
def detector(tmp_path: Path) -> LexiconDetector:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "spam.yaml").write_text(LEXICON, encoding="utf-8")
    return LexiconDetector(extra_dirs=[tmp_path])


def moderator(pack: ResolvedPack, detector: LexiconDetector) -> Moderator:
    return Moderator(pack, [detector])


def test_construction_scores_are_as_designed(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    scored = score_records(moderator(registry.get("tune-test"), detector), records())
    spam = scored.score("spam")
    benign = sorted(spam[~scored.flagged].tolist(), reverse=True)
    assert benign[:4] == [0.7, 0.55, 0.55, 0.0]
    assert sorted(spam[scored.flagged].tolist()) == [0.55] * 2 + [0.7] * 5 + [0.95] * 10
    assert not scored.score("weapons").any()


def test_block_and_review_thresholds_at_one_percent(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    (spam, weapons) = propose_thresholds(
        moderator(registry.get("tune-test"), detector), records(), target_fpr=0.01
    )
    assert spam.category == "spam" and spam.clause_ids == ("4.2-no-spam",)
    assert (spam.n_benign, spam.n_positive, spam.n_flagged) == (103, 17, 17)
    # 1% of 103 allows one benign record: the 0.7 one may fire, the 0.55 ones may not; the
    # threshold sits midway between 0.55 and the next score seen (0.7)
    assert spam.block.threshold == 0.625
    assert spam.block.false_positives == 1 and spam.block.fpr == pytest.approx(1 / 103)
    assert spam.block.recall == pytest.approx(15 / 17)
    assert spam.block.flagged_recall == pytest.approx(15 / 17)
    # review at 3% allows three: every benign hit, so the lowest score seen (0.55)
    assert spam.review_target_fpr == pytest.approx(0.03)
    assert spam.review.threshold == 0.55
    assert spam.review.false_positives == 3 and spam.review.recall == 1.0
    # the pack's current block threshold (the default 0.8)
    assert spam.current.threshold == 0.8
    assert spam.current.fpr == 0.0 and spam.current.recall == pytest.approx(10 / 17)
    assert spam.note is None
    # no record scores weapons: nothing to propose, and it says so
    assert weapons.block.threshold is None and weapons.review.threshold is None
    assert weapons.note is not None and "no record scored" in weapons.note


@pytest.mark.parametrize("target", [0.0, 0.005, 0.01, 0.02, 0.03, 0.1, 0.5])
def test_threshold_is_the_lowest_that_meets_the_target(
    target: float, registry: PackRegistry, detector: LexiconDetector
) -> None:
    scored = score_records(moderator(registry.get("tune-test"), detector), records())
    (spam,) = propose_from_scores(scored, registry.get("tune-test").pack, target, ["spam"])
    t = spam.block.threshold
    assert t is not None
    score = scored.score("spam")
    benign = score[~scored.flagged]
    fpr = float((benign >= t).mean())
    assert fpr <= target and spam.block.fpr == pytest.approx(fpr)
    # any lower score seen in the data, taken as the threshold, breaks the target
    lower = score[(score < t) & (score > 0)]
    if lower.size:
        assert float((benign >= lower.max()).mean()) > target
    assert spam.review.threshold is not None and spam.review.threshold <= t


def test_zero_target_blocks_no_benign_record(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    (spam,) = propose_thresholds(
        moderator(registry.get("tune-test"), detector), records(), 0.0, ["spam"]
    )
    assert spam.block.threshold == 0.825  # midway between the benign 0.7 and 0.95
    assert spam.block.false_positives == 0 and spam.block.recall == pytest.approx(10 / 17)


def test_override_yaml_loads_and_enforces_the_proposal(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    data = records()
    proposals = propose_thresholds(moderator(registry.get("tune-test"), detector), data, 0.01)
    text = proposal_as_override_yaml(proposals, "tune-test@1.0.0")
    loaded = parse_pack_text(text, "<tuned>")
    assert loaded.pack.id == "tune-test-tuned" and loaded.pack.extends == "tune-test"
    assert "# weapons unchanged: no record scored" in text
    registry.add(loaded)
    tuned = registry.get("tune-test-tuned")
    pack = tuned.pack
    spam_t = pack.thresholds_for(pack.clause("4.2-no-spam"), "spam")
    assert (spam_t.review, spam_t.block) == (0.55, 0.625)
    # weapons keeps the inherited defaults
    weapons_t = pack.thresholds_for(pack.clause("4.3-no-weapons"), "weapons")
    assert (weapons_t.review, weapons_t.block) == (0.5, 0.8)

    # the saved pack, run end to end, reaches the proposed rates on the same records
    verdicts = moderator(tuned, detector).check_many([r.text for r in data])
    benign = [v for r, v in zip(data, verdicts, strict=True) if not r.flagged]
    spam = [v for r, v in zip(data, verdicts, strict=True) if r.flagged]
    blocked = sum(v.action is Action.BLOCK for v in benign) / len(benign)
    reviewed = sum(v.action.severity >= Action.REVIEW.severity for v in benign) / len(benign)
    assert blocked <= 0.01 and reviewed <= 0.03
    assert sum(v.action is Action.BLOCK for v in spam) / len(spam) == pytest.approx(
        proposals[0].block.recall
    )


def test_yaml_with_options_and_nothing_to_override(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    benign_only = [r for r in records() if not r.flagged]
    only_spam = [r for r in records() if r.flagged]
    # without benign records no rate can be measured: no thresholds, a note, an empty overlay
    proposals = propose_thresholds(
        moderator(registry.get("tune-test"), detector), only_spam, 0.01, ["spam"]
    )
    assert proposals[0].block.threshold is None
    assert proposals[0].note is not None and "no benign records" in proposals[0].note
    text = proposal_as_override_yaml(
        proposals, "tune-test", new_id="acme-spam", version="2.1.0", name="ACME: spam"
    )
    registry.add(parse_pack_text(text, "<acme>"))
    acme = registry.get("acme-spam@2.1.0")
    assert acme.pack.name == "ACME: spam"
    assert acme.lineage == ("acme-spam@2.1.0", "tune-test@1.0.0")
    assert acme.pack.clauses == registry.get("tune-test").pack.clauses
    # benign records alone: by default no proposal, since nothing shows what it would catch
    m = moderator(registry.get("tune-test"), detector)
    (spam,) = propose_thresholds(m, benign_only, 0.01, ["spam"])
    assert spam.block.threshold is None and spam.review.threshold is None
    assert spam.note is not None and "0 record(s) labelled" in spam.note
    assert "# spam unchanged: 0 record(s) labelled" in proposal_as_override_yaml([spam], "x")
    # unless asked to: a threshold and its rate, and no recall to report
    (spam,) = propose_thresholds(m, benign_only, 0.01, ["spam"], min_positives=0)
    assert spam.block.threshold == 0.625 and spam.block.false_positives == 1
    assert spam.block.recall is None and spam.block.flagged_recall is None


def test_flagged_records_without_categories_need_min_positives_zero(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    unlabelled = [EvalRecord(r.line, r.text, r.flagged, (), r.lang, r.source) for r in records()]
    m = moderator(registry.get("tune-test"), detector)
    (spam,) = propose_thresholds(m, unlabelled, 0.01, ["spam"])
    assert spam.n_positive == 0 and spam.block.threshold is None
    (spam,) = propose_thresholds(m, unlabelled, 0.01, ["spam"], min_positives=0)
    assert spam.block.threshold == 0.625 and spam.block.recall is None
    assert spam.block.flagged_recall == pytest.approx(15 / 17)


def test_unusable_records_are_skipped_not_fatal(
    registry: PackRegistry, detector: LexiconDetector
) -> None:
    data = [*records(), rec(999, "   ", False)]
    scored = score_records(moderator(registry.get("tune-test"), detector), data)
    assert len(scored) == len(data) - 1
    assert len(scored.skipped) == 1 and scored.skipped[0].startswith("line 999:")


def test_combined_point_and_table(registry: PackRegistry, detector: LexiconDetector) -> None:
    scored = score_records(moderator(registry.get("tune-test"), detector), records())
    proposals = propose_from_scores(scored, registry.get("tune-test").pack, 0.01)
    both = combined_operating_point(scored, proposals)
    assert both.false_positives == 1 and both.recall == pytest.approx(15 / 17)
    assert combined_operating_point(scored, proposals, "current").fpr == 0.0
    table = format_proposals(proposals)
    assert table.splitlines()[1].split()[:2] == ["spam", "17"]
    assert "0.625" in table and "no record scored" in table


def test_bad_arguments_are_refused(registry: PackRegistry, detector: LexiconDetector) -> None:
    m = moderator(registry.get("tune-test"), detector)
    with pytest.raises(ValueError, match="not used by any clause"):
        propose_thresholds(m, records(), 0.01, ["hate"])
    with pytest.raises(ValueError, match="target_fpr"):
        propose_thresholds(m, records(), 1.5)
    with pytest.raises(ValueError, match="review_factor"):
        propose_thresholds(m, records(), 0.01, review_factor=0.5)
    with pytest.raises(ValueError, match="min_positives"):
        propose_thresholds(m, records(), 0.01, min_positives=-1)
