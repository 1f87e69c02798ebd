"""aupguard as a benchmarked system: the full default detectors, or the lexicon alone.

Flagged = the verdict is at least ``review``. The ranking score is the strongest category
score in the verdict, modifier categories (``signal/*``) left out: they never fire a clause.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from aupguard.detectors.lexicon import LexiconDetector
from aupguard.engine.moderator import Moderator
from aupguard.policy.models import Action
from aupguard.policy.registry import default_registry
from aupguard.policy.taxonomy import load_taxonomy
from baselines import Predictions

BATCH = 256


class AupguardSystem:
    def __init__(self, policy: str, *, lexicon_only: bool) -> None:
        pack = default_registry().get(policy)
        self.moderator = Moderator(pack, [LexiconDetector()]) if lexicon_only else Moderator(pack)
        self.name = "aupguard-lexicon" if lexicon_only else "aupguard"
        detectors = ", ".join(d.name for d in self.moderator.detectors)
        self.description = f"{pack.ref}, detectors: {detectors}; flagged = verdict >= review"
        self._modifiers = frozenset(load_taxonomy().ids("modifier"))

    def predict(self, texts: Sequence[str]) -> Predictions:
        flagged = np.zeros(len(texts), dtype=np.bool_)
        score = np.zeros(len(texts), dtype=np.float64)
        categories: list[frozenset[str]] = []
        errors = 0
        for start in range(0, len(texts), BATCH):
            verdicts = self.moderator.check_many(texts[start : start + BATCH])
            for i, verdict in enumerate(verdicts, start):
                flagged[i] = verdict.action.severity >= Action.REVIEW.severity
                score[i] = max(
                    (s for c, s in verdict.scores.items() if c not in self._modifiers),
                    default=0.0,
                )
                categories.append(
                    frozenset(
                        h.category
                        for h in verdict.clauses
                        if h.action.severity >= Action.REVIEW.severity
                    )
                )
                errors += bool(verdict.errors)
        return Predictions(flagged=flagged, score=score, categories=categories, errors=errors)
