"""The one error image input raises."""

from __future__ import annotations

from aupguard.errors import InputError


class ImageInputError(InputError):
    """The image is unusable: empty, too large, a decompression bomb, truncated, malformed or of
    an unsupported format. ``code`` is machine-readable (``image_too_large``,
    ``truncated_image``, ...); the message says what was wrong in words. Nothing was decided.

    A subclass of :class:`aupguard.errors.InputError`, so callers that already handle unusable
    text input handle unusable images the same way."""
