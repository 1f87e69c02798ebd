"""The detector registry: unique names, known categories, the Detector contract."""

from __future__ import annotations

from typing import ClassVar

import pytest

from aupguard.detectors.base import Detector, DetectorResult, ScanItem
from aupguard.detectors.registry import DetectorRegistry, RegistryError, default_registry
from aupguard.policy.models import Modality
from aupguard.policy.taxonomy import load_taxonomy


class Dummy:
    name: ClassVar[str] = "dummy"
    version: ClassVar[str] = "1"
    modalities: ClassVar[frozenset[Modality]] = frozenset({Modality.PROMPT})
    categories: ClassVar[frozenset[str]] = frozenset({"spam"})

    def scan(self, item: ScanItem) -> DetectorResult:
        return DetectorResult(detector=self.name, version=self.version)


def test_duplicate_names_are_rejected() -> None:
    registry = DetectorRegistry()
    registry.register(Dummy)

    class Other(Dummy):
        pass

    with pytest.raises(RegistryError, match="registered twice"):
        registry.register(Other)


def test_unknown_category_is_rejected() -> None:
    class Bad(Dummy):
        name: ClassVar[str] = "bad"
        categories: ClassVar[frozenset[str]] = frozenset({"spamm"})

    with pytest.raises(RegistryError, match="spamm"):
        DetectorRegistry().register(Bad)


def test_unknown_detector_lookup_names_known_ones() -> None:
    registry = DetectorRegistry()
    registry.register(Dummy)
    with pytest.raises(KeyError, match="dummy"):
        registry.create("nope")


def _contract_item(detector: Detector) -> ScanItem:
    """A text item, or for an image detector a small decoded image (a gradient)."""
    if Modality.PROMPT in detector.modalities or Modality.OUTPUT_TEXT in detector.modalities:
        return ScanItem("a watercolor of a lighthouse at dusk")
    import io

    from PIL import Image

    from aupguard.images import decode_image

    buf = io.BytesIO()
    Image.linear_gradient("L").convert("RGB").save(buf, format="PNG")
    return ScanItem("", Modality.INPUT_IMAGE, image=decode_image(buf.getvalue()))


@pytest.mark.parametrize("name", default_registry().names())
def test_builtin_detectors_honour_the_contract(name: str) -> None:
    registry = default_registry()
    detector = registry.create(name)
    assert isinstance(detector, Detector)
    assert set(detector.categories) <= set(load_taxonomy().categories)
    result = detector.scan(_contract_item(detector))
    assert isinstance(result, DetectorResult)
    assert result.detector == name and result.version == detector.version
    assert all(0.0 <= s <= 1.0 for s in result.scores.values())
    assert set(result.scores) <= set(detector.categories)
