"""Text normalisation and language identification."""

from aupguard.text.lang import detect_language
from aupguard.text.normalize import NormalizedText, normalize, squeeze_repeats

__all__ = ["NormalizedText", "detect_language", "normalize", "squeeze_repeats"]
