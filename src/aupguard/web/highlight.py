"""Evidence spans in a prompt, as segments a template marks up (escaping stays Jinja's)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Segment(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    marked: bool = False
    title: str = ""


def segments(text: str, spans: list[tuple[int, int, str]]) -> list[Segment]:
    """Split ``text`` at the evidence spans (half-open offsets; overlapping spans merge, spans
    outside the text are clipped or dropped)."""
    clean = sorted(
        (max(0, s), min(len(text), e), t) for s, e, t in spans if e > s and s < len(text)
    )
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, title in clean:
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            merged[-1] = (last[0], max(last[1], end), [*last[2], title])
        else:
            merged.append((start, end, [title]))
    out: list[Segment] = []
    pos = 0
    for start, end, titles in merged:
        if start > pos:
            out.append(Segment(text=text[pos:start]))
        out.append(
            Segment(text=text[start:end], marked=True, title="; ".join(dict.fromkeys(titles)))
        )
        pos = end
    if pos < len(text):
        out.append(Segment(text=text[pos:]))
    return out
