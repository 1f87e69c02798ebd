"""Errors of ``aupguard.records``. Each says what was wrong and, where it can, what to do."""

from __future__ import annotations

from aupguard.errors import AupguardError


class RecordsError(AupguardError):
    """Base of the records errors."""


class SigningKeyError(RecordsError):
    """The audit signing key or a public key is missing, unreadable or malformed."""


class ExportFormatError(RecordsError):
    """An audit export or statements file is not in the expected format (says which line)."""


class ChainBrokenError(RecordsError):
    """The chain does not verify, so the operation (signing a checkpoint, exporting) refuses
    to vouch for it."""


class StatementError(RecordsError):
    """A statement of reasons cannot be made or is invalid."""


class RetentionError(RecordsError):
    """A retention setting is malformed."""
