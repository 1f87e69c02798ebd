"""Image handling: safe decoding, metadata, PDQ hashes and hash banks.

``decode_image`` needs Pillow (the ``images`` extra); it is imported on first use, so this
package (and the detectors that refer to it) import without the extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aupguard.images.errors import ImageInputError
from aupguard.images.limits import ImageLimits

if TYPE_CHECKING:
    from aupguard.images.decode import DecodedImage, decode_image

__all__ = ["DecodedImage", "ImageInputError", "ImageLimits", "decode_image"]


def __getattr__(name: str) -> Any:
    if name in ("DecodedImage", "decode_image"):
        from aupguard.images import decode

        return getattr(decode, name)
    raise AttributeError(f"module 'aupguard.images' has no attribute {name!r}")
