"""Text normalisation and language identification."""

from aupguard.text.normalize import NormalizedText, normalize

__all__ = ["NormalizedText", "normalize"]
