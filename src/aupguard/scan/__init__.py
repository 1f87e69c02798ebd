"""Bulk re-scan of an archive under a policy pack (``aupguard scan``).

The library comes first; :mod:`aupguard.scan.cli` is a thin layer over :func:`run_scan`.
"""

from aupguard.scan.checkpoint import StateMismatchError
from aupguard.scan.local import LocalEngine
from aupguard.scan.models import Decision, Item, ItemRow, ScanSummary
from aupguard.scan.readers import ScanInputError, open_reader
from aupguard.scan.runner import MissingExtraError, ScanJob, run_scan
from aupguard.scan.summary import format_summary, previous_version, read_rows

__all__ = [
    "Decision",
    "Item",
    "ItemRow",
    "LocalEngine",
    "MissingExtraError",
    "ScanInputError",
    "ScanJob",
    "ScanSummary",
    "StateMismatchError",
    "format_summary",
    "open_reader",
    "previous_version",
    "read_rows",
    "run_scan",
]
