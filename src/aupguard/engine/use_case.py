"""Checking an organisation's declared use case against a pack.

At onboarding an operator's customer declares what it builds ("an HR tool that scores video
interviews", "a tutoring chatbot for schools"). The declaration is content like any other, but
only the clauses about applications apply to it: the pack's ``use-case`` clauses and the
clauses on the categories the use-case detector scores (surveillance, biometrics, manipulation,
military use, critical infrastructure, regulated advice). A ``block`` means the declared use is
prohibited; ``review`` means a person must look at it before the account is enabled;
``allow_with_disclosure`` means the outputs carry the clause's disclosure.
"""

from __future__ import annotations

from aupguard.detectors.base import ScanItem
from aupguard.detectors.use_case import UseCaseDetector
from aupguard.engine.decide import decide
from aupguard.engine.moderator import Moderator, validate_text
from aupguard.engine.verdict import Verdict
from aupguard.policy.models import Clause, Modality, PolicyPack, Surface
from aupguard.text.lang import detect_language

__all__ = ["check_declared_use_case", "use_case_clauses"]


def use_case_clauses(pack: PolicyPack) -> tuple[Clause, ...]:
    """The clauses that judge a declared use case."""
    categories = UseCaseDetector.categories
    return tuple(
        c
        for c in pack.clauses
        if c.surface is Surface.USE_CASE
        or (c.surface is not Surface.BEHAVIOUR and categories.intersection(c.categories))
    )


def check_declared_use_case(moderator: Moderator, declaration: str) -> Verdict:
    """The verdict on a declared use case: every detector reads the declaration, and only the
    pack's use-case clauses decide (see the module doc). Bad input raises ``InputError``."""
    validate_text(declaration, moderator.limits)
    item = ScanItem(declaration, Modality.PROMPT)
    item.lang = detect_language(item.normalized.text)
    results = moderator.scan_with_derived(item)
    pack = moderator.pack.pack
    restricted = pack.model_copy(update={"clauses": use_case_clauses(pack)})
    return decide(restricted, results, Modality.PROMPT, lang=item.lang)
