"""The opt-in NudeNet detector: off unless the operator turns it on, a start-up error when on
but missing, body-part boxes as evidence regions. Synthetic images only."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from aupguard.detectors.base import DetectorError, ScanItem
from aupguard.detectors.image_nudenet import (
    SEXUAL,
    SUGGESTIVE,
    NudeNetImageDetector,
    scores_from_parts,
)
from aupguard.detectors.registry import default_registry
from aupguard.images import decode_image
from aupguard.policy.models import Modality


def test_parts_become_scores_and_regions() -> None:
    scores, evidence = scores_from_parts(
        [
            {"class": "FEMALE_BREAST_COVERED", "score": 0.9, "box": [10, 20, 30, 40]},
            {"class": "FACE_FEMALE", "score": 0.99, "box": [0, 0, 5, 5]},  # not evidence
            {"class": "BUTTOCKS_EXPOSED", "score": 0.25, "box": [1, 1, 1, 1]},  # below floor
        ]
    )
    assert scores[SEXUAL] == 0.0 and scores[SUGGESTIVE] == pytest.approx(0.54)
    assert [e.region for e in evidence] == [(10, 20, 30, 40)]
    assert evidence[0].rule == "nudenet:female_breast_covered"

    scores, _ = scores_from_parts(
        [{"class": "MALE_GENITALIA_EXPOSED", "score": 0.8, "box": [0, 0, 9, 9]}]
    )
    assert scores[SEXUAL] == pytest.approx(0.8) and scores[SUGGESTIVE] == pytest.approx(0.8)


def test_registered_only_when_the_operator_turns_it_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUPGUARD_NUDENET", raising=False)
    assert "image-nudenet" not in default_registry().names()
    monkeypatch.setenv("AUPGUARD_NUDENET", "on")
    assert "image-nudenet" in default_registry().names()


def test_enabled_but_missing_is_an_error_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nudenet" else real(name, *a)
    )
    with pytest.raises(DetectorError, match="pip install 'aupguard\\[nudenet\\]'"):
        NudeNetImageDetector()


def test_real_model_on_synthetic_shapes_finds_nothing_sexual() -> None:
    pytest.importorskip("nudenet", reason="the nudenet extra is not installed")
    image = Image.new("RGB", (320, 320), (30, 90, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, 200, 200), fill=(240, 200, 40))
    draw.rectangle((180, 150, 300, 300), fill=(20, 160, 60))
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    item = ScanItem("", Modality.INPUT_IMAGE, image=decode_image(buf.getvalue()))
    result = NudeNetImageDetector().scan(item)
    assert result.scores[SEXUAL] < 0.3 and result.detector == "image-nudenet"
    assert all(e.region is not None for e in result.evidence)
