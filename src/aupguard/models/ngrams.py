"""Hashed character n-grams in pure NumPy: deterministic across processes and platforms.

A text (normalised by :func:`aupguard.text.normalize.normalize`, then with runs of a
repeated letter collapsed by :func:`ngram_view`) becomes a sparse vector of ``2**bits``
buckets:

* the text is cut to its first :data:`MAX_CHARS` characters and padded with one space on each
  side, so word-initial and word-final grams differ from word-internal ones;
* grams that contain a character of an unspaced script (CJK ideographs, kana, Hangul, Thai…)
  are taken for n = 1..4; the other grams for n = 2..5 (Latin, Cyrillic, Greek, Arabic…);
* each distinct gram is hashed with a polynomial over its code points followed by the
  SplitMix64 finaliser (salted with n); the top ``bits`` bits pick the bucket and one lower bit
  the sign (signed hashing keeps collisions unbiased, as in feature hashing);
* a gram counts once however often it occurs (binary features), bucket values are summed and
  the vector is L2-normalised.

Python's own ``hash`` is salted per process, so it is never used: the same text gives the same
buckets in training and at run time on every machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from aupguard.text.normalize import NormalizedText, squeeze_repeats

__all__ = ["MAX_CHARS", "HashedGrams", "NGramHasher", "ngram_view", "ngram_view_of"]

MAX_CHARS: Final = 4096
_PRIME: Final = np.uint64(0x100000001B3)
_MIX1: Final = np.uint64(0xBF58476D1CE4E5B9)
_MIX2: Final = np.uint64(0x94D049BB133111EB)
#: per-length salts (the golden-ratio constant times n, modulo 2**64)
_SALTS: Final = tuple(np.uint64((0x9E3779B97F4A7C15 * n) & 0xFFFFFFFFFFFFFFFF) for n in range(6))
_UNSPACED_RANGES: Final = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x9FFF),  # CJK radicals, kana, CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions
)


def _unspaced_table() -> npt.NDArray[np.bool_]:
    table = np.zeros(0x10000, dtype=bool)
    for lo, hi in _UNSPACED_RANGES:
        if hi <= 0xFFFF:
            table[lo : hi + 1] = True
    return table


#: unspaced-script lookup for the Basic Multilingual Plane, and the one astral range
_UNSPACED_BMP: Final = _unspaced_table()
_ASTRAL_UNSPACED: Final = (0x20000, 0x3FFFF)


def ngram_view(norm: NormalizedText) -> NormalizedText:
    """The text the n-gram heads read: the normalised text with every run of one repeated
    letter collapsed (``nuude`` -> ``nude``, as the lexicon matches), so elongation does not
    change the grams; offsets still map into the original text."""
    return squeeze_repeats(norm)


def ngram_view_of(normalised: str) -> str:
    """:func:`ngram_view` of an already normalised string (training reads stored texts)."""
    return squeeze_repeats(
        NormalizedText(
            original=normalised, text=normalised, offsets=tuple(range(len(normalised) + 1))
        )
    ).text


def _mix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """SplitMix64 finaliser (array arithmetic wraps modulo 2**64 without warnings)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    return x ^ (x >> np.uint64(31))


@dataclass(frozen=True, slots=True)
class HashedGrams:
    """The distinct grams of one text: ``start`` and ``length`` in the (unpadded, truncated)
    normalised text, the bucket and the sign of each."""

    start: npt.NDArray[np.int32]
    length: npt.NDArray[np.int32]
    bucket: npt.NDArray[np.int64]
    sign: npt.NDArray[np.float32]


class NGramHasher:
    """Maps a normalised text to (bucket indices, values) of a ``2**bits`` hashed space."""

    def __init__(self, bits: int = 18):
        if not 8 <= bits <= 24:
            raise ValueError(f"bits must be within 8..24, got {bits}")
        self.bits = bits
        self.dim = 1 << bits

    def grams(self, text: str) -> HashedGrams:
        padded = f" {text[:MAX_CHARS]} "
        cps = np.frombuffer(padded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        cp64 = cps.astype(np.uint64)
        unspaced = _UNSPACED_BMP[np.minimum(cps, 0xFFFF)]
        if cps.max() > 0xFFFF:
            unspaced |= (cps >= _ASTRAL_UNSPACED[0]) & (cps <= _ASTRAL_UNSPACED[1])
        any_unspaced = bool(unspaced.any())
        cum = np.concatenate(([0], np.cumsum(unspaced, dtype=np.int32))) if any_unspaced else None
        starts: list[npt.NDArray[np.int32]] = []
        lengths: list[npt.NDArray[np.int32]] = []
        salted: list[npt.NDArray[np.uint64]] = []
        rolling = np.zeros(0, dtype=np.uint64)
        for n in range(1, 6):
            count = len(cps) - n + 1
            if count <= 0:
                break
            rolling = (
                cp64[:count] if n == 1 else rolling[:count] * _PRIME + cp64[n - 1 : n - 1 + count]
            )
            if cum is None:  # no unspaced script: 2- to 5-grams, all of them
                if n == 1:
                    continue
                starts.append(np.arange(count, dtype=np.int32))
                salted.append(rolling ^ _SALTS[n])
            else:
                has_unspaced = (cum[n : n + count] - cum[:count]) > 0
                if n == 1:
                    idx = np.flatnonzero(has_unspaced).astype(np.int32)
                elif n == 5:
                    idx = np.flatnonzero(~has_unspaced).astype(np.int32)
                else:
                    idx = np.arange(count, dtype=np.int32)
                if not len(idx):
                    continue
                starts.append(idx)
                salted.append(rolling[idx] ^ _SALTS[n])
            lengths.append(np.full(len(starts[-1]), n, dtype=np.int32))
        if not salted:
            empty_i = np.zeros(0, dtype=np.int32)
            return HashedGrams(
                empty_i, empty_i, np.zeros(0, dtype=np.int64), np.zeros(0, np.float32)
            )
        h = _mix(np.concatenate(salted))
        start = np.concatenate(starts)
        length = np.concatenate(lengths)
        _, first = np.unique(h, return_index=True)
        h, start, length = h[first], start[first], length[first]
        bucket = (h >> np.uint64(64 - self.bits)).astype(np.int64)
        sign = np.where((h & np.uint64(1)) == 1, np.float32(1.0), np.float32(-1.0)).astype(
            np.float32
        )
        # offsets into the unpadded text (a gram may include a padding space at either end)
        return HashedGrams(start - 1, length, bucket, sign)

    def features(self, text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
        """Sorted unique bucket indices and their L2-normalised values."""
        buckets, values, _ = self.vectorize(self.grams(text))
        return buckets, values

    @staticmethod
    def vectorize(
        g: HashedGrams,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], float]:
        """(sorted buckets, L2-normalised values, the norm before normalising) of some grams."""
        if not len(g.bucket):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32), 0.0
        order = np.argsort(g.bucket, kind="stable")
        sorted_buckets = g.bucket[order]
        first = np.concatenate(([0], np.flatnonzero(np.diff(sorted_buckets)) + 1))
        buckets = sorted_buckets[first]
        values = np.add.reduceat(g.sign[order], first).astype(np.float32)
        nz = values != 0
        buckets, values = buckets[nz], values[nz]
        norm = float(np.sqrt(np.dot(values, values)))
        if norm > 0:
            values = values / np.float32(norm)
        return buckets, values.astype(np.float32), norm
