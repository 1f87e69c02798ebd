"""The intellectual-property detector: characters, franchises, brands and logos in several
languages, commercial and style cues, living artists' styles, hard negatives, evidence
offsets, operator files and reload, loader errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from aupguard.detectors.base import Detector, DetectorResult, ScanItem
from aupguard.detectors.gazetteer import GazetteerError
from aupguard.detectors.intellectual_property import (
    BUILTIN_DIR,
    KINDS,
    IntellectualPropertyDetector,
)
from aupguard.policy.models import Modality
from aupguard.policy.taxonomy import load_taxonomy

IP = "intellectual-property"


@pytest.fixture(scope="module")
def detector() -> IntellectualPropertyDetector:
    d = IntellectualPropertyDetector()
    d.load()
    return d


def scan(detector: IntellectualPropertyDetector, text: str) -> DetectorResult:
    return detector.scan(ScanItem(text))


def score(detector: IntellectualPropertyDetector, text: str) -> float:
    return scan(detector, text).scores.get(IP, 0.0)


# --------------------------------------------------------------------------- contract


def test_is_a_detector_with_taxonomy_categories(detector: IntellectualPropertyDetector) -> None:
    assert isinstance(detector, Detector)
    assert detector.name == "intellectual-property"
    assert IntellectualPropertyDetector.categories == {IP}
    assert set(IntellectualPropertyDetector.categories) <= set(load_taxonomy().categories)
    assert Modality.PROMPT in IntellectualPropertyDetector.modalities


def test_gazetteer_size(detector: IntellectualPropertyDetector) -> None:
    counts = detector.counts()
    assert set(counts) <= KINDS
    assert sum(counts[k] for k in ("character", "franchise", "brand", "logo", "studio")) >= 300
    artists = [e for e in detector.gazetteer.entries if e.kind == "artist"]
    assert sum(e.living is True for e in artists) >= 40
    assert sum(e.living is False for e in artists) >= 40


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_builtin_files_have_provenance(path: Path) -> None:
    data = yaml.safe_load(path.read_text("utf-8"))
    assert data["provenance"].strip()


# --------------------------------------------------------------------------- positives


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("Mickey Mouse waving", 0.6, 0.6),
        ("米老鼠", 0.6, 0.6),
        ("Pikachu", 0.6, 0.6),
        ("皮卡丘", 0.6, 0.6),
        ("ピカチュウ", 0.6, 0.6),
        ("Spider-Man", 0.6, 0.6),
        ("spiderman swinging", 0.6, 0.6),
        ("spider man", 0.6, 0.6),
        ("蜘蛛侠", 0.6, 0.6),
        ("Hello Kitty", 0.6, 0.6),
        ("凯蒂猫", 0.6, 0.6),
        ("Super Mario", 0.6, 0.6),
        ("马里奥", 0.6, 0.6),
        ("Mario jumping on a goomba", 0.6, 0.6),
        ("Elsa from Frozen", 0.6, 0.6),
        ("Elsa building an ice castle in Arendelle", 0.6, 0.6),
        ("Batman", 0.6, 0.6),
        ("蝙蝠侠", 0.6, 0.6),
        ("Harry Potter", 0.6, 0.6),
        ("哈利·波特", 0.6, 0.6),
        ("Star Wars", 0.6, 0.6),
        ("星球大战", 0.6, 0.6),
        ("Pokémon", 0.6, 0.6),
        ("宝可梦", 0.6, 0.6),
        ("Darth Vader", 0.6, 0.6),
        ("Totoro", 0.6, 0.6),
        ("哆啦A梦", 0.6, 0.6),
        # logos are the mark itself
        ("the Nike swoosh", 0.8, 0.8),
        ("Coca-Cola logo", 0.8, 0.8),
        ("Apple logo", 0.8, 0.8),
        ("McDonald's golden arches", 0.8, 0.8),
        ("Disney castle", 0.8, 0.8),
        ("麦当劳金拱门", 0.8, 0.8),
        # a logo cue next to a brand or character
        ("Batman logo", 0.8, 0.8),
        ("Starbucks logo on a cup", 0.8, 0.8),
        ("耐克商标", 0.8, 0.8),
        # brands by name are descriptive on their own
        ("a can of Coca-Cola", 0.4, 0.45),
        ("Nike sneakers", 0.4, 0.45),
    ],
)
def test_names(detector: IntellectualPropertyDetector, text: str, low: float, high: float) -> None:
    s = score(detector, text)
    assert low <= s <= high, (text, s)


@pytest.mark.parametrize(
    "text",
    [
        "ｍｉｃｋｅｙ ｍｏｕｓｅ",
        "M1ckey M0use",
        "m.i.c.k.e.y m.o.u.s.e",
        "P i k a c h u",
        "Pikaaaachu",
        "ＰＩＫＡＣＨＵ",
        "Spider\u200b-Man",
    ],
)
def test_obfuscated_names(detector: IntellectualPropertyDetector, text: str) -> None:
    assert score(detector, text) >= 0.6, text


@pytest.mark.parametrize(
    ("text", "low"),
    [
        ("Pikachu t-shirt to sell on my store", 0.85),
        ("official Batman merchandise", 0.85),
        ("Mickey Mouse stickers for my Etsy shop", 0.85),
        ("the Nike logo on shoes for my store", 0.9),
        ("Coca-Cola logo on my product packaging", 0.9),
        ("皮卡丘周边商品", 0.85),
        ("印在T恤上卖的米老鼠", 0.85),
    ],
)
def test_commercial_cues_raise(
    detector: IntellectualPropertyDetector, text: str, low: float
) -> None:
    assert score(detector, text) >= low, text


@pytest.mark.parametrize(
    "text",
    [
        "a Mickey Mouse-style cartoon mouse of my own design",
        "a Pikachu-inspired yellow creature, original character",
        "an original mascot inspired by Hello Kitty",
        "米老鼠风格的卡通老鼠，原创角色",
        "a Batman-like vigilante of my own design",
    ],
)
def test_style_and_own_design_lower(detector: IntellectualPropertyDetector, text: str) -> None:
    assert score(detector, text) < 0.5, text


# --------------------------------------------------------------------------- living artists


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("a castle in the style of Greg Rutkowski", "Greg Rutkowski"),
        ("by greg rutkowski, artstation, 8k", "Greg Rutkowski"),
        ("sky in the style of Makoto Shinkai", "Makoto Shinkai"),
        ("新海诚风格的天空", "Makoto Shinkai"),
        ("a forest spirit in the style of Hayao Miyazaki", "Hayao Miyazaki"),
        ("宫崎骏画风", "Hayao Miyazaki"),
        ("portrait, artgerm, wlop", "Artgerm"),
    ],
)
def test_living_artist_style_is_a_separate_rule(
    detector: IntellectualPropertyDetector, text: str, name: str
) -> None:
    result = scan(detector, text)
    assert result.scores[IP] >= 0.6
    rules = {e.rule for e in result.evidence}
    assert f"ip/style-of-living-artist:{name}" in rules, rules


@pytest.mark.parametrize(
    "text",
    [
        "a portrait in the style of Van Gogh",
        "water lilies by Claude Monet",
        "the great wave in the style of Hokusai",
        "齐白石风格的虾",
        "in the style of Rembrandt and Vermeer",
        "a surreal clock in the style of Salvador Dali",
        "a portrait of Hayao Miyazaki at his desk",
    ],
)
def test_dead_artists_and_artist_portraits_are_not_flagged(
    detector: IntellectualPropertyDetector, text: str
) -> None:
    assert scan(detector, text).scores == {}, text


# --------------------------------------------------------------------------- negatives


@pytest.mark.parametrize(
    "text",
    [
        "apple",
        "an apple on a table",
        "a red apple with a green leaf",
        "Amazon river at sunset",
        "the Amazon rainforest canopy",
        "a frozen lake in winter",
        "a link in a rusty chain",
        "a sonic boom over the desert",
        "a woman in a one piece swimsuit",
        "a green lantern hanging on a porch",
        "a dark knight in armor",
        "a tiger cat sitting in a sink",
        "Swift programming language",
        "a metal gear with a chain on a wheel",
        "a mouse eating cheese",
        "a small yellow electric mouse of my own design",
        "A black Honda motorcycle parked in front of a garage.",
        "open the windows of the house",
        "a bowl of 小米粥",
        "a subway station at night",
        "a target practice range",
        "my melody of the morning",
        "transformer architecture diagram",
    ],
)
def test_hard_negatives(detector: IntellectualPropertyDetector, text: str) -> None:
    assert score(detector, text) < 0.5, text


# --------------------------------------------------------------------------- evidence


@pytest.mark.parametrize(
    ("text", "span", "rule"),
    [
        ("draw ｍｉｃｋｅｙ ｍｏｕｓｅ please", "ｍｉｃｋｅｙ ｍｏｕｓｅ", "ip:mickey-mouse"),
        ("画一只皮卡丘", "皮卡丘", "ip:pikachu"),
        ("a P.i.k.a.c.h.u plush", "P.i.k.a.c.h.u", "ip:pikachu"),
        ("the Nike swoosh on a cap", "Nike swoosh", "ip:nike-swoosh"),
    ],
)
def test_evidence_offsets_point_into_the_original(
    detector: IntellectualPropertyDetector, text: str, span: str, rule: str
) -> None:
    result = scan(detector, text)
    ev = result.evidence[0]
    assert ev.start is not None and ev.end is not None
    assert text[ev.start : ev.end] == span == ev.text
    assert ev.rule == rule
    assert ev.detail is not None and ev.detail.startswith("matched ")


def test_commercial_evidence_is_cited(detector: IntellectualPropertyDetector) -> None:
    text = "Pikachu t-shirt to sell on my store"
    result = scan(detector, text)
    cues = [e for e in result.evidence if e.rule == "ip:cue/commercial"]
    assert [e.text for e in cues] == ["t-shirt to sell"]  # "to sell" inside it is not repeated
    assert "Pikachu" in result.explanation


def test_two_entries_nudge_the_score(detector: IntellectualPropertyDetector) -> None:
    assert score(detector, "Superman shaking hands with Spiderman") == pytest.approx(0.65)


# --------------------------------------------------------------------------- operator files


BRANDS = """\
provenance: operator's own marks (test)
entries:
  - {id: zorblax-cola, name: Zorblax Cola, kind: brand, owner: Zorblax Inc,
     aliases: [Zorblax, 佐布拉克斯可乐]}
"""


def test_extra_files_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "brands.yaml"
    path.write_text(BRANDS, "utf-8")
    d = IntellectualPropertyDetector(extra_files=[path])
    assert score(d, "a Zorblax Cola logo") == 0.8
    assert score(d, "佐布拉克斯可乐周边") >= 0.85
    assert score(d, "Quibbleton the otter") == 0.0

    path.write_text(
        BRANDS + "  - {id: quibbleton, name: Quibbleton the otter, kind: character}\n", "utf-8"
    )
    d.reload()
    assert score(d, "Quibbleton the otter") == 0.6


def test_operator_can_add_a_living_artist(tmp_path: Path) -> None:
    path = tmp_path / "artists.tsv"
    path.write_text(
        "# provenance: operator artists (test)\nid\tname\tkind\tliving\n"
        "vex\tVexalia Brumm\tartist\ttrue\n",
        "utf-8",
    )
    d = IntellectualPropertyDetector(extra_files=[path])
    rules = {e.rule for e in scan(d, "in the style of Vexalia Brumm").evidence}
    assert "ip/style-of-living-artist:Vexalia Brumm" in rules


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  - {id: a, name: A B, kind: artist}\n", "living"),
        ("  - {id: a, name: A B, kind: person, living: true}\n", "unknown kind 'person'"),
        ("  - {id: a, name: A B, kind: brand, aliases: Nike}\n", "must be a list"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("provenance: t\nentries:\n" + body, "utf-8")
    with pytest.raises(GazetteerError, match=re.escape(message)) as info:
        IntellectualPropertyDetector(extra_files=[path]).load()
    assert str(info.value).startswith(f"{path}:3:")


def test_a_cue_file_of_the_other_detector_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cues.yaml"
    path.write_text("provenance: t\ncues:\n  damaging: [arrested]\n", "utf-8")
    with pytest.raises(GazetteerError, match="unknown cue group 'damaging'"):
        IntellectualPropertyDetector(extra_files=[path]).load()


@pytest.mark.parametrize(
    "text",
    [
        'Please summarise the book "Harry Potter and the Deathly Hallows"',
        "In Minecraft, what are the best ways to farm experience quickly?",
        "在守望先锋中，治疗应当如何站位？",
        "Who is Greg Rutkowski?",
    ],
)
def test_talking_about_a_work_is_not_making_one(
    detector: IntellectualPropertyDetector, text: str
) -> None:
    result = scan(detector, text)
    assert 0.0 < result.scores[IP] < 0.5
    assert "discussed, not generated" in (result.evidence[0].detail or "")


@pytest.mark.parametrize(
    ("text", "low"),
    [
        ("Can you draw Pikachu?", 0.6),
        ("Would you be able to design an electric Pokémon?", 0.6),
        ("What is the best Pikachu t-shirt to sell?", 0.85),
    ],
)
def test_requests_phrased_as_questions_still_count(
    detector: IntellectualPropertyDetector, text: str, low: float
) -> None:
    assert score(detector, text) >= low


def test_studio_style_is_weak(detector: IntellectualPropertyDetector) -> None:
    assert score(detector, "Pixar animation style, a fox with a feather") < 0.5
    assert score(detector, "吉卜力动画风格的神庙") < 0.5


def test_spellings_that_fold_alike_give_one_evidence(
    detector: IntellectualPropertyDetector,
) -> None:
    result = scan(detector, "Harry Potter casting a spell")
    assert [e.detail.split(" of ")[0] for e in result.evidence if e.detail] == [
        "matched alias 'Harry Potter'"
    ]
