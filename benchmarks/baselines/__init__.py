"""The systems ``benchmarks/accuracy.py`` compares: aupguard itself and third-party baselines.

Every system turns a batch of texts into :class:`Predictions`: a yes/no decision per text and a
score for ranking (AUPRC). A system whose package or resource is missing raises
:class:`Unavailable` from its loader, with the reason and how to fix it; the benchmark prints
that and goes on without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


class Unavailable(Exception):
    """The system cannot run here (package not installed, locale missing, ...)."""


@dataclass(frozen=True, slots=True)
class Predictions:
    flagged: npt.NDArray[np.bool_]
    score: npt.NDArray[np.float64]
    # categories the system named per text (aupguard only), for category-match figures
    categories: list[frozenset[str]] | None = None
    errors: int = 0  # texts on which a part of the system failed (counted, not fatal)


class System(Protocol):
    name: str
    description: str

    def predict(self, texts: Sequence[str]) -> Predictions: ...


Loader = Callable[[str], System]  # policy id -> system


def _aupguard(policy: str) -> System:
    from baselines.aupguard_systems import AupguardSystem

    return AupguardSystem(policy, lexicon_only=False)


def _aupguard_lexicon(policy: str) -> System:
    from baselines.aupguard_systems import AupguardSystem

    return AupguardSystem(policy, lexicon_only=True)


def _profanity_check(policy: str) -> System:
    from baselines.third_party import ProfanityCheck

    return ProfanityCheck()


def _glin(policy: str) -> System:
    from baselines.third_party import GlinProfanity

    return GlinProfanity()


def _hatesonar(policy: str) -> System:
    from baselines.third_party import HateSonar

    return HateSonar()


SYSTEMS: dict[str, Loader] = {
    "aupguard": _aupguard,
    "aupguard-lexicon": _aupguard_lexicon,
    "profanity-check": _profanity_check,
    "glin-profanity": _glin,
    "hatesonar": _hatesonar,
}
