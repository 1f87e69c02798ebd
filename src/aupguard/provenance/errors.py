"""Errors of the provenance layer. Each says what was wrong with which input."""

from __future__ import annotations

from aupguard.errors import AupguardError, InputError


class ProvenanceError(AupguardError):
    """Base of the provenance layer's errors."""


class ImageInputError(InputError, ProvenanceError):
    """An image that cannot carry or be checked for provenance (unsupported format, truncated,
    CMYK, 16-bit, animated, too large or too small). Nothing was written."""


class SigningError(ProvenanceError):
    """The C2PA manifest could not be signed (bad certificate, key or configuration)."""


class MissingExtraError(ProvenanceError, ImportError):
    """A dependency of the ``provenance`` extra is not installed."""

    def __init__(self, module: str) -> None:
        super().__init__(
            f"{module} is not installed; install the extra: pip install 'aupguard[provenance]'"
        )
