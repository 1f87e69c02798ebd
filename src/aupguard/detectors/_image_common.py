"""Shared helpers of the image detectors (not a detector itself)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aupguard.detectors.base import DetectorError, ScanItem
from aupguard.policy.models import Modality

if TYPE_CHECKING:
    from aupguard.images.decode import DecodedImage

IMAGE_MODALITIES: Final = frozenset({Modality.INPUT_IMAGE, Modality.OUTPUT_IMAGE})
IMAGES_EXTRA_HINT: Final = "install the images extra: pip install 'aupguard[images]'"


def image_of(item: ScanItem, detector: str) -> DecodedImage:
    """The item's decoded image; an image detector given a text item fails (closed)."""
    if item.image is None:
        raise DetectorError(f"{detector}: the item has no decoded image (modality {item.modality})")
    return item.image
