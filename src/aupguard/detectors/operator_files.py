"""Operator data files for the list-driven detectors, named by environment variables (paths
separated by ``:``), so the service and the CLI pick them up without code: protected persons
(``AUPGUARD_PROTECTED_PERSONS``), characters and brands (``AUPGUARD_IP_GAZETTEER``), use-case
rules (``AUPGUARD_USE_CASE_RULES``). ``POST /v1/admin/detectors/reload`` re-reads them."""

from __future__ import annotations

import os
from pathlib import Path

PROTECTED_PERSONS_ENV = "AUPGUARD_PROTECTED_PERSONS"
IP_GAZETTEER_ENV = "AUPGUARD_IP_GAZETTEER"
USE_CASE_RULES_ENV = "AUPGUARD_USE_CASE_RULES"


def operator_files(variable: str) -> tuple[Path, ...]:
    """The files an environment variable names (none when it is unset or empty)."""
    value = os.environ.get(variable, "")
    return tuple(Path(p) for p in value.split(os.pathsep) if p.strip())
