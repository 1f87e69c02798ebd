"""Records: the tamper-evident audit log, statements of reasons, transparency reports and
retention. Needs the ``store`` extra (SQLAlchemy, cryptography).

The API and other services call:

- ``AuditLog(store, signing_key=load_signing_key()).append(AuditKind.…, actor=…, …)``, or
  ``append_many([NewEvent(…), …])`` / ``AuditWriter(audit).append(…)`` for many events;
- ``statement_from_decision(...)`` / ``statement_from_event(event)`` for DSA statements;
- ``report_from_store(store, start, end)`` for transparency figures.
"""

from __future__ import annotations

from aupguard.records.audit import (
    AuditKind,
    AuditLog,
    ChainBreak,
    Checkpoint,
    VerifyReport,
    verify_export,
)
from aupguard.records.errors import (
    ChainBrokenError,
    ExportFormatError,
    RecordsError,
    RetentionError,
    SigningKeyError,
    StatementError,
)
from aupguard.records.retention import RetentionPolicy, purge_expired
from aupguard.records.signing import PublicKey, SigningKey, load_signing_key
from aupguard.records.state import AccountState, rebuild_account_state, stored_account_state
from aupguard.records.statements import (
    StatementOfReasons,
    export_batches,
    statement_from_decision,
    statement_from_event,
    statements_from_events,
)
from aupguard.records.transparency import TransparencyReport, render_html, report_from_store
from aupguard.records.writer import AuditWriter

__all__ = [
    "AccountState",
    "AuditKind",
    "AuditLog",
    "AuditWriter",
    "ChainBreak",
    "ChainBrokenError",
    "Checkpoint",
    "ExportFormatError",
    "PublicKey",
    "RecordsError",
    "RetentionError",
    "RetentionPolicy",
    "SigningKey",
    "SigningKeyError",
    "StatementError",
    "StatementOfReasons",
    "TransparencyReport",
    "VerifyReport",
    "export_batches",
    "load_signing_key",
    "purge_expired",
    "rebuild_account_state",
    "render_html",
    "report_from_store",
    "statement_from_decision",
    "statement_from_event",
    "statements_from_events",
    "stored_account_state",
    "verify_export",
]
