"""Limits on uploaded image files, from typed environment settings.

Limits are checked against the file's size and its declared dimensions *before* any pixel is
decoded, so a decompression bomb (a small file that expands to gigabytes) is refused cheaply.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field

from aupguard.images.errors import ImageInputError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 16_384
DEFAULT_MAX_FRAMES = 1_000

_ENV = {
    "max_bytes": "AUPGUARD_IMAGE_MAX_BYTES",
    "max_pixels": "AUPGUARD_IMAGE_MAX_PIXELS",
    "max_side": "AUPGUARD_IMAGE_MAX_SIDE",
    "max_frames": "AUPGUARD_IMAGE_MAX_FRAMES",
}


class ImageLimits(BaseModel):
    """The largest image accepted: file bytes, pixels (width x height), longest side, frames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)
    max_side: int = Field(default=DEFAULT_MAX_SIDE, ge=1)
    max_frames: int = Field(default=DEFAULT_MAX_FRAMES, ge=1)

    @classmethod
    def from_env(cls) -> ImageLimits:
        values: dict[str, int] = {}
        for field, var in _ENV.items():
            raw = os.environ.get(var)
            if raw is None:
                continue
            try:
                value = int(raw)
            except ValueError:
                raise ImageInputError(
                    f"{var} must be a whole number, got {raw!r}", code="bad_setting"
                ) from None
            if value < 1:
                raise ImageInputError(f"{var} must be at least 1, got {value}", code="bad_setting")
            values[field] = value
        return cls(**values)
