"""Normalise text for matching, keeping a map back to the original offsets.

PLACEHOLDER implementation (NFKC + casefold only); the full pipeline replaces it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NormalizedText:
    """``text`` is the folded form; ``offsets[i]`` is the index in ``original`` where the
    character ``text[i]`` came from; ``offsets`` has one extra entry, ``len(original)``."""

    original: str
    text: str
    offsets: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of ``text`` to the half-open span of ``original`` it came from."""
        if start >= end:
            o = self.offsets[start]
            return o, o
        ostart = self.offsets[start]
        # the end is the start of the original char after the last covered one
        last = self.offsets[end - 1]
        oend = last + 1
        while oend < len(self.original) and oend < self.offsets[end] and self.offsets[end] > last:
            if oend >= self.offsets[end]:
                break
            oend += 1
        return ostart, max(oend, ostart)


def normalize(text: str) -> NormalizedText:
    out: list[str] = []
    offsets: list[int] = []
    for i, ch in enumerate(text):
        folded = unicodedata.normalize("NFKC", ch).casefold()
        for f in folded:
            out.append(f)
            offsets.append(i)
    offsets.append(len(text))
    return NormalizedText(original=text, text="".join(out), offsets=tuple(offsets))


def squeeze_repeats(nt: NormalizedText) -> NormalizedText:
    """PLACEHOLDER: collapse every run of one repeated letter to a single letter."""
    out: list[str] = []
    offsets: list[int] = []
    prev = ""
    for i, ch in enumerate(nt.text):
        if ch == prev and ch.isalpha():
            continue
        out.append(ch)
        offsets.append(nt.offsets[i])
        prev = ch
    offsets.append(len(nt.original))
    return NormalizedText(original=nt.original, text="".join(out), offsets=tuple(offsets))
