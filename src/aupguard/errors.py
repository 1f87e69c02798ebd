"""The public exception tree. Every error a client can cause says what was wrong and where."""

from __future__ import annotations


class AupguardError(Exception):
    """Base of every aupguard error."""


class InputError(AupguardError, ValueError):
    """The content to check is unusable (empty, too large, not text). Nothing was decided."""

    def __init__(self, message: str, *, code: str):
        self.code = code
        super().__init__(message)
