"""The watermark payload: 80 bits (operator id, generation tag, timestamp) plus a CRC-16.

The generation tag is the first 32 bits of SHA-256 of the generation id: the mark cannot carry
a whole id, so a decoder answers "which of our generations is it" by matching the tag (and the
timestamp) against the records, e.g. ``payload.matches_generation("gen-123")``.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
from typing import Annotated

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

PAYLOAD_BITS = 80
CRC_BITS = 16
CODED_BITS = PAYLOAD_BITS + CRC_BITS


def generation_tag(generation_id: str) -> int:
    return int.from_bytes(hashlib.sha256(generation_id.encode("utf-8")).digest()[:4], "big")


class WatermarkPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    operator_id: Annotated[int, Field(ge=0, le=0xFFFF)]
    generation_tag: Annotated[int, Field(ge=0, le=0xFFFFFFFF)]
    timestamp: Annotated[int, Field(ge=0, le=0xFFFFFFFF)]  # Unix seconds (UTC)

    @classmethod
    def for_generation(
        cls, operator_id: int, generation_id: str, when: dt.datetime | None = None
    ) -> WatermarkPayload:
        when = when or dt.datetime.now(dt.UTC)
        return cls(
            operator_id=operator_id,
            generation_tag=generation_tag(generation_id),
            timestamp=int(when.timestamp()),
        )

    @property
    def issued_at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp, dt.UTC)

    def matches_generation(self, generation_id: str) -> bool:
        return self.generation_tag == generation_tag(generation_id)

    def to_bytes(self) -> bytes:
        return (
            self.operator_id.to_bytes(2, "big")
            + self.generation_tag.to_bytes(4, "big")
            + self.timestamp.to_bytes(4, "big")
        )

    def to_bits(self) -> npt.NDArray[np.uint8]:
        """The 96 coded bits: payload then CRC-16/CCITT of the payload."""
        raw = self.to_bytes()
        crc = binascii.crc_hqx(raw, 0xFFFF).to_bytes(2, "big")
        return np.unpackbits(np.frombuffer(raw + crc, dtype=np.uint8))

    @classmethod
    def from_bits(cls, bits: npt.NDArray[np.uint8]) -> WatermarkPayload | None:
        """The payload, or None when the CRC does not match (no mark, or too damaged)."""
        if bits.shape != (CODED_BITS,):
            raise ValueError(f"expected {CODED_BITS} bits, got shape {bits.shape}")
        data = np.packbits(bits.astype(np.uint8)).tobytes()
        raw, crc = data[:10], data[10:]
        if binascii.crc_hqx(raw, 0xFFFF).to_bytes(2, "big") != crc:
            return None
        return cls(
            operator_id=int.from_bytes(raw[0:2], "big"),
            generation_tag=int.from_bytes(raw[2:6], "big"),
            timestamp=int.from_bytes(raw[6:10], "big"),
        )
