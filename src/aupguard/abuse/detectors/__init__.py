"""Behaviour detectors: one module each, registered here by an explicit list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from aupguard.abuse.detectors.ban_evasion import BanEvasionDetector
from aupguard.abuse.detectors.base import BehaviourContext, BehaviourDetector, Settings
from aupguard.abuse.detectors.key_sharing import KeySharingDetector
from aupguard.abuse.detectors.model_extraction import ModelExtractionDetector
from aupguard.abuse.detectors.multi_account import MultiAccountDetector
from aupguard.abuse.detectors.rate_limit_evasion import RateLimitEvasionDetector
from aupguard.abuse.detectors.scraping import ScrapingDetector
from aupguard.abuse.detectors.underage import UnderageDetector
from aupguard.policy.taxonomy import load_taxonomy

BUILTIN: tuple[type[BehaviourDetector], ...] = (
    KeySharingDetector,
    MultiAccountDetector,
    BanEvasionDetector,
    RateLimitEvasionDetector,
    ScrapingDetector,
    ModelExtractionDetector,
    UnderageDetector,
)


class BehaviourSettingsError(ValueError):
    pass


def _check_registry() -> dict[str, type[BehaviourDetector]]:
    by_name: dict[str, type[BehaviourDetector]] = {}
    taxonomy = load_taxonomy()
    for cls in BUILTIN:
        if cls.name in by_name:
            raise BehaviourSettingsError(f"behaviour detector {cls.name!r} registered twice")
        unknown = [c for c in cls.categories if c not in taxonomy]
        if unknown:
            raise BehaviourSettingsError(f"{cls.name} declares unknown categories {unknown}")
        by_name[cls.name] = cls
    return by_name


REGISTRY = _check_registry()


class BehaviourSettings(BaseModel):
    """Settings per detector name; anything not given keeps its default."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    settings: dict[str, Settings]

    @classmethod
    def build(cls, overrides: Mapping[str, Mapping[str, Any]] | None = None) -> BehaviourSettings:
        """Defaults, changed by ``overrides`` ({detector name: {setting: value}}). Unknown
        detectors or settings are errors that name what was wrong."""
        overrides = overrides or {}
        unknown = sorted(set(overrides) - set(REGISTRY))
        if unknown:
            raise BehaviourSettingsError(
                f"unknown behaviour detector {unknown[0]!r}; known: {', '.join(sorted(REGISTRY))}"
            )
        out: dict[str, Settings] = {}
        for name, det in REGISTRY.items():
            try:
                out[name] = det.settings_model.model_validate(dict(overrides.get(name, {})))
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise BehaviourSettingsError(
                    f"behaviour settings {name}.{where}: {first['msg']}"
                ) from None
        return cls(settings=out)


def create_detectors(settings: BehaviourSettings | None = None) -> list[BehaviourDetector]:
    settings = settings or BehaviourSettings.build()
    return [cls(settings.settings[name]) for name, cls in REGISTRY.items()]  # type: ignore[call-arg]


__all__ = [
    "BUILTIN",
    "REGISTRY",
    "BehaviourContext",
    "BehaviourDetector",
    "BehaviourSettings",
    "BehaviourSettingsError",
    "create_detectors",
]
