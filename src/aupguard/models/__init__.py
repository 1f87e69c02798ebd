"""Bundled models: the text classifier's artifacts, their loader and NumPy-only inference.

Training lives in :mod:`aupguard.training` (the ``train`` extra); nothing here needs more
than NumPy, so a service can load and run the committed artifacts with no network and no
scikit-learn or SciPy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

__all__ = [
    "CATEGORY_LOGIT_SHIFT",
    "DEFAULT_TEXT_CLASSIFIER_DIR",
    "DEPLOYMENT_LOGIT_SHIFT",
    "FLAGGED_HEAD",
    "HEAD_CATEGORIES",
]

#: where the committed text-classifier artifacts live (``aupguard train --out`` writes here)
DEFAULT_TEXT_CLASSIFIER_DIR: Final = Path(__file__).with_name("text_classifier")

#: the overall "a strict policy refuses this" head: trained on every flagged row, including rows
#: whose category is unknown; not a taxonomy category, used as a feature of every category
FLAGGED_HEAD: Final = "flagged"

#: taxonomy categories the classifier has a head for. Categories with too little data are
#: folded into a parent while training (see ``aupguard/training/README.md``): `extremism` and
#: `violence/animal-cruelty` into `violence`, `sexual/non-consensual` into `sexual`; `spam`
#: has no training data and stays with the lexicon.
HEAD_CATEGORIES: Final[tuple[str, ...]] = (
    "sexual",
    "sexual/suggestive",
    "sexual/minors",
    "violence",
    "violence/graphic",
    "self-harm",
    "hate",
    "harassment",
    "weapons",
    "weapons/military",
    "drugs",
    "illicit",
    "malware",
    "critical-infrastructure",
    "fraud",
    "academic-dishonesty",
    "disinformation",
    "elections",
    "impersonation",
    "privacy",
    "privacy/biometric",
    "surveillance",
    "manipulation",
    "intellectual-property",
    "regulated-advice/medical",
    "regulated-advice/legal",
    "regulated-advice/financial",
    "crypto-mining",
    "circumvention",
)

#: Prior correction from the validation split to live traffic, added to every category's
#: log-odds at inference. The calibrations were fitted on a validation split where 37% of rows
#: are refused; in live prompt traffic the share is far lower (ToxicChat: 7%), and Bayes' rule
#: says calibrated log-odds move by logit(live share) - logit(validation share). -1.0
#: corresponds to a live share of about 17%: deliberately less than the full correction, since a
#: strict pack would rather send a borderline prompt to review than let it through.
DEPLOYMENT_LOGIT_SHIFT: Final = -1.0

#: extra per-category correction on top of DEPLOYMENT_LOGIT_SHIFT. `circumvention`: the head
#: learned "role-play framing" from jailbreak templates, and benign persona prompts ("pretend
#: you are a friendly tutor") share it; the rule-based circumvention detector owns the category
#: and the head only adds weight where it is very sure.
CATEGORY_LOGIT_SHIFT: Final[dict[str, float]] = {"circumvention": -2.0}
