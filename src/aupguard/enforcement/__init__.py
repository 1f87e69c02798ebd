"""Enforcement: strikes and the ladder (``ladder.py``, pure), the one executor
(``executor.py``), the CSAM path with the evidence vault (``vault.py``) and report packages
(``report.py``), and ``Guard`` (``guard.py``), the small per-request facade the HTTP
service calls: ``authenticate``, ``admit``, ``record_verdict``, ``charge``, ``refund``.

Needs the ``store`` extra.
"""

from __future__ import annotations

from aupguard.enforcement.actions import ActionKind, EnforcementAction
from aupguard.enforcement.executor import AccountStanding, EnforcedItem, EnforcementError, Enforcer
from aupguard.enforcement.guard import (
    AdmissionCode,
    AdmissionDecision,
    Guard,
    Principal,
    RequestInfo,
)
from aupguard.enforcement.settings import LadderSettings

__all__ = [
    "AccountStanding",
    "ActionKind",
    "AdmissionCode",
    "AdmissionDecision",
    "EnforcedItem",
    "EnforcementAction",
    "EnforcementError",
    "Enforcer",
    "Guard",
    "LadderSettings",
    "Principal",
    "RequestInfo",
]
