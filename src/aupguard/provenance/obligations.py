"""Which output obligations apply: read from the pack's ``surface: obligation`` clauses, the
verdict and the operator's baseline. Pure: no I/O.

* A clause without categories (e.g. "outputs must not be represented as human-created")
  applies to every output of its modalities.
* A clause with categories (e.g. medical advice needs professional review) applies when the
  verdict shows it fired: the engine already scored the item against it.
* The operator's baseline (``AUPGUARD_PROVENANCE_BASELINE``) adds obligations for every
  output; the pack can only add to it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from aupguard.engine.decide import clause_applies
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Modality, ObligationKind, PolicyPack, Surface

BASELINE = "baseline"


class RequiredObligations(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[ObligationKind, ...]
    # per obligation, the clauses that require it (citations), or "baseline"
    sources: dict[ObligationKind, tuple[str, ...]]
    disclosures: tuple[str, ...]

    def requires(self, kind: ObligationKind) -> bool:
        return kind in self.kinds

    @property
    def review_reasons(self) -> tuple[str, ...]:
        return self.sources.get(ObligationKind.HUMAN_REVIEW, ())


def required_obligations(
    pack: PolicyPack,
    verdict: Verdict,
    modality: Modality,
    baseline: tuple[ObligationKind, ...] = (),
) -> RequiredObligations:
    fired = {hit.clause_id for hit in verdict.clauses}
    sources: dict[ObligationKind, list[str]] = {kind: [BASELINE] for kind in baseline}
    disclosures: list[str] = []
    for clause in pack.clauses:
        if clause.surface is not Surface.OBLIGATION:
            continue
        if clause.categories:
            if clause.id not in fired:
                continue
        elif not clause_applies(clause, modality):
            continue
        citation = f"{pack.id}@{pack.version} §{clause.id}"
        for kind in clause.obligations:
            sources.setdefault(kind, []).append(citation)
        if clause.disclosure:
            disclosures.append(" ".join(clause.disclosure.split()))
    disclosures += [" ".join(d.split()) for d in verdict.disclosures]
    order = list(ObligationKind)
    kinds = tuple(sorted(sources, key=order.index))
    return RequiredObligations(
        kinds=kinds,
        sources={k: tuple(dict.fromkeys(sources[k])) for k in kinds},
        disclosures=tuple(dict.fromkeys(disclosures)),
    )
