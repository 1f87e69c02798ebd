"""A multi-index hashing (MIH) index of 256-bit PDQ hashes.

Each hash is cut into 16 chunks of 16 bits. If two hashes differ in at most ``t`` bits, then
by the pigeonhole principle some chunk differs in at most ``t // 16`` bits, so looking up each
query chunk and its near variants (1 + 16 lookups per chunk for the conventional t = 31) finds
every true match; candidates are then verified with an exact Hamming distance. Each chunk's
table is a counting-sort layout (offsets into a permutation), so a lookup is array slicing and
a million hashes are searched in about a millisecond. Appends go to a small brute-force
buffer that is folded into the index when it grows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Final

import numpy as np

from aupguard.images.pdq import DEFAULT_MATCH_DISTANCE, hex_to_bytes

_CHUNKS: Final = 16
_CHUNK_VALUES: Final = 1 << 16
_MAX_DISTANCE: Final = 47  # up to two flipped bits per chunk (137 variants each)
_PENDING_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class IndexMatch:
    """Position of the matching hash (in insertion order) and its Hamming distance."""

    position: int
    distance: int


def _variant_masks(flips: int) -> np.ndarray:
    masks = [0]
    for r in range(1, flips + 1):
        for bits in itertools.combinations(range(16), r):
            masks.append(sum(1 << b for b in bits))
    return np.asarray(masks, dtype=np.int64)


class PdqIndex:
    def __init__(self, max_distance: int = DEFAULT_MATCH_DISTANCE) -> None:
        if not 0 <= max_distance <= _MAX_DISTANCE:
            raise ValueError(f"max_distance must be 0..{_MAX_DISTANCE}, got {max_distance}")
        self.max_distance = max_distance
        self._masks = _variant_masks(max_distance // _CHUNKS)
        self._built = np.zeros((0, 4), dtype=np.uint64)  # hashes in the MIH tables
        self._offsets = np.zeros((_CHUNKS, _CHUNK_VALUES + 1), dtype=np.int64)
        self._perm = np.zeros((_CHUNKS, 0), dtype=np.int64)
        self._pending: list[bytes] = []

    def __len__(self) -> int:
        return len(self._built) + len(self._pending)

    def add(self, hash_hex: str) -> int:
        """Append a hash; returns its position."""
        self._pending.append(hex_to_bytes(hash_hex))
        if len(self._pending) >= _PENDING_LIMIT:
            self._fold()
        return len(self) - 1

    def add_many_bytes(self, hashes: np.ndarray) -> None:
        """Append an (N, 32) uint8 array of hashes and rebuild the tables once."""
        if hashes.ndim != 2 or hashes.shape[1] != 32:
            raise ValueError(f"expected an (N, 32) array, got {hashes.shape}")
        self._fold(np.ascontiguousarray(hashes, dtype=np.uint8))

    def _fold(self, extra: np.ndarray | None = None) -> None:
        parts = [self._built.view(np.uint8).reshape(-1, 32)]
        if self._pending:
            parts.append(np.frombuffer(b"".join(self._pending), dtype=np.uint8).reshape(-1, 32))
        if extra is not None:
            parts.append(extra)
        all_bytes = np.ascontiguousarray(np.concatenate(parts))
        self._pending = []
        self._built = all_bytes.view(np.uint64).reshape(-1, 4).copy()
        chunks = all_bytes.view(">u2").reshape(-1, _CHUNKS).astype(np.int64)
        count = len(all_bytes)
        self._perm = np.empty((_CHUNKS, count), dtype=np.int64)
        self._offsets = np.zeros((_CHUNKS, _CHUNK_VALUES + 1), dtype=np.int64)
        for j in range(_CHUNKS):
            column = chunks[:, j]
            self._perm[j] = np.argsort(column, kind="stable")
            self._offsets[j, 1:] = np.cumsum(np.bincount(column, minlength=_CHUNK_VALUES))

    def search(self, hash_hex: str) -> list[IndexMatch]:
        """Every stored hash within ``max_distance`` bits, nearest first."""
        query = hex_to_bytes(hash_hex)
        matches: dict[int, int] = {}
        if len(self._built):
            for pos, dist in self._search_built(query):
                matches[pos] = dist
        if self._pending:
            base = len(self._built)
            q = int.from_bytes(query, "big")
            for i, h in enumerate(self._pending):
                dist = (q ^ int.from_bytes(h, "big")).bit_count()
                if dist <= self.max_distance:
                    matches[base + i] = dist
        return [
            IndexMatch(position=p, distance=d)
            for p, d in sorted(matches.items(), key=lambda kv: (kv[1], kv[0]))
        ]

    def _search_built(self, query: bytes) -> list[tuple[int, int]]:
        q_bytes = np.frombuffer(query, dtype=np.uint8)
        q_chunks = q_bytes.view(">u2").astype(np.int64)
        variants = q_chunks[:, None] ^ self._masks[None, :]  # (16, V)
        rows = np.arange(_CHUNKS)[:, None]
        starts = self._offsets[rows, variants].ravel()
        ends = self._offsets[rows, variants + 1].ravel()
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return []
        count = self._perm.shape[1]
        flat_starts = (starts + np.repeat(np.arange(_CHUNKS), len(self._masks)) * count)[
            lengths > 0
        ]
        lengths = lengths[lengths > 0]
        steps = np.repeat(flat_starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        candidates = np.unique(self._perm.ravel()[steps + np.arange(total)])
        q64 = q_bytes.view(np.uint64)
        distances = np.bitwise_count(self._built[candidates] ^ q64).sum(axis=1)
        keep = distances <= self.max_distance
        return list(zip(candidates[keep].tolist(), distances[keep].tolist(), strict=True))
