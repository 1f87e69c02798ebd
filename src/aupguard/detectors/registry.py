"""The detector registry: an explicit list of built-ins plus ``aupguard.detectors`` entry points."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points

from aupguard.detectors.base import Detector
from aupguard.policy.taxonomy import load_taxonomy

DetectorFactory = Callable[[], Detector]


class RegistryError(ValueError):
    """A detector registration is invalid (duplicate name, unknown category)."""


class DetectorRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, tuple[type[Detector], DetectorFactory]] = {}

    def register(self, cls: type[Detector], factory: DetectorFactory | None = None) -> None:
        name = getattr(cls, "name", None)
        if not isinstance(name, str) or not name:
            raise RegistryError(f"{cls.__qualname__} has no `name`")
        if name in self._factories:
            other = self._factories[name][0]
            raise RegistryError(
                f"detector name {name!r} is registered twice "
                f"({other.__module__}.{other.__qualname__} and {cls.__module__}.{cls.__qualname__})"
            )
        taxonomy = load_taxonomy()
        unknown = sorted(c for c in cls.categories if c not in taxonomy)
        if unknown:
            raise RegistryError(f"detector {name!r} declares unknown categories {unknown}")
        self._factories[name] = (cls, factory or cls)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def detector_class(self, name: str) -> type[Detector]:
        try:
            return self._factories[name][0]
        except KeyError:
            raise KeyError(f"unknown detector {name!r}; known: {', '.join(self.names())}") from None

    def create(self, name: str) -> Detector:
        self.detector_class(name)
        return self._factories[name][1]()

    def create_all(self, names: Iterable[str] | None = None) -> list[Detector]:
        return [self.create(n) for n in (self.names() if names is None else names)]

    def covered_categories(self) -> set[str]:
        """Every category some registered detector can score."""
        out: set[str] = set()
        for cls, _ in self._factories.values():
            out |= set(cls.categories)
        return out


def _builtin_detectors() -> list[type[Detector]]:
    # One line per built-in detector: adding a detector is its module plus a line here.
    from aupguard.detectors.circumvention import CircumventionDetector
    from aupguard.detectors.image_faces import FaceImageDetector
    from aupguard.detectors.image_file import HostileFileDetector
    from aupguard.detectors.image_hash_match import HashMatchImageDetector
    from aupguard.detectors.image_metadata import ImageMetadataDetector
    from aupguard.detectors.image_nsfw import NsfwImageDetector
    from aupguard.detectors.image_nudenet import NudeNetImageDetector
    from aupguard.detectors.image_nudenet import enabled as nudenet_enabled
    from aupguard.detectors.image_text import ImageTextDetector
    from aupguard.detectors.intellectual_property import IntellectualPropertyDetector
    from aupguard.detectors.lexicon import LexiconDetector
    from aupguard.detectors.personal_data import PersonalDataDetector
    from aupguard.detectors.real_people import RealPeopleDetector
    from aupguard.detectors.text_classifier import TextClassifierDetector
    from aupguard.detectors.use_case import UseCaseDetector

    return [
        LexiconDetector,
        PersonalDataDetector,
        CircumventionDetector,
        RealPeopleDetector,
        IntellectualPropertyDetector,
        UseCaseDetector,
        TextClassifierDetector,
        # image detectors (need the `images` extra only when an image is scanned)
        NsfwImageDetector,
        HashMatchImageDetector,
        ImageTextDetector,
        FaceImageDetector,
        ImageMetadataDetector,
        HostileFileDetector,
        # opt-in, AGPL-3.0 (AUPGUARD_NUDENET=on with the `nudenet` extra)
        *([NudeNetImageDetector] if nudenet_enabled() else []),
    ]


def default_registry() -> DetectorRegistry:
    registry = DetectorRegistry()
    for cls in _builtin_detectors():
        registry.register(cls)
    for ep in entry_points(group="aupguard.detectors"):
        registry.register(ep.load())
    return registry
