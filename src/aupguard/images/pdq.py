"""PDQ perceptual hashes (Meta's PDQ, via the ``pdqhash`` package).

Hex strings follow ThreatExchange / Hasher-Matcher-Actioner: the 256 hash bits in order, four
bits per hex digit, most significant first. Two images are the same picture when their hashes
differ in at most 31 of 256 bits; hashes of quality below 50 (flat or featureless images) are
not trusted for matching, as in ThreatExchange.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

PDQ_BITS: Final = 256
PDQ_HEX_LEN: Final = 64
DEFAULT_MATCH_DISTANCE: Final = 31
MIN_QUALITY: Final = 50
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
# PDQ downsamples to 64x64 internally; hashing a bounded copy keeps time flat for big inputs
_HASH_SIDE: Final = 512


@dataclass(frozen=True, slots=True)
class PdqHash:
    hex: str
    quality: int

    @property
    def trusted(self) -> bool:
        return self.quality >= MIN_QUALITY


def pdq_hash(image: Image.Image) -> PdqHash:
    import pdqhash
    from PIL import Image

    rgb = image.convert("RGB")
    if max(rgb.size) > _HASH_SIDE:
        rgb = rgb.copy()
        rgb.thumbnail((_HASH_SIDE, _HASH_SIDE), Image.Resampling.BILINEAR)
    bits, quality = pdqhash.compute(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)))
    return PdqHash(hex=bits_to_hex(np.asarray(bits)), quality=int(quality))


def bits_to_hex(bits: np.ndarray) -> str:
    if bits.shape != (PDQ_BITS,):
        raise ValueError(f"a PDQ hash has {PDQ_BITS} bits, got shape {bits.shape}")
    return np.packbits(bits.astype(np.uint8)).tobytes().hex()


def hex_to_bytes(value: str) -> bytes:
    """32 bytes from a 64-digit hex PDQ hash; ``ValueError`` names what is wrong."""
    text = value.strip()
    if not _HEX.match(text):
        raise ValueError(f"not a PDQ hash (64 hex digits): {text[:80]!r}")
    return bytes.fromhex(text)


def is_pdq_hex(value: str) -> bool:
    return bool(_HEX.match(value.strip()))


def hamming(a: str, b: str) -> int:
    x = int.from_bytes(hex_to_bytes(a), "big") ^ int.from_bytes(hex_to_bytes(b), "big")
    return x.bit_count()
