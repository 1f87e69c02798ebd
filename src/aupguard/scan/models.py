"""Typed data of a bulk re-scan: items read from the input, the rows written to the output,
and the summary of what changed."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from aupguard.policy.models import Action


class ItemKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"


class Item(BaseModel):
    """One item of the input. ``offset`` is its position: the 0-based line of a JSONL file,
    the 0-based row of a CSV or Parquet file, the index of an image in the sorted folder.
    ``error`` is set when the reader could not get the item (bad JSON, missing field, ...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offset: int
    kind: ItemKind
    id: str | None = None
    path: str | None = None
    text: str | None = None
    error: str | None = None
    error_code: str | None = None


class Chunk(BaseModel):
    """Items sent to one worker in one go: all items with ``offset // chunk_size == index``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    items: tuple[Item, ...]


class Decision(BaseModel):
    """What one pack decided about an item: the action and the clauses it cites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pack: str  # "id@version"
    action: Action
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()  # clause ids that fired with the verdict's action or stricter


class ItemRow(BaseModel):
    """One line of the output: the item's id / offset / path and the verdict (no content), or
    the error that kept it from being checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    offset: int
    id: str | None = None
    path: str | None = None
    action: Action | None = None
    categories: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()
    pack: str | None = None
    previous: Decision | None = None
    error: str | None = None
    error_code: str | None = None


class ChunkResult(BaseModel):
    """A worker's answer for one chunk: one row per item, in offset order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    rows: tuple[ItemRow, ...]


class ScanSummary(BaseModel):
    """Counts over every row of the output, and what changed against the previous pack."""

    model_config = ConfigDict(extra="forbid")

    input: str
    output: str
    policy: str
    compare_with: str | None
    items: int = 0
    errors: int = 0
    actions: dict[str, int] = Field(default_factory=dict)
    changed: int = 0
    transitions: dict[str, int] = Field(default_factory=dict)  # "allow→block": n
    # clause id -> {"allow→block": n}: changed items citing the clause under either pack
    by_clause: dict[str, dict[str, int]] = Field(default_factory=dict)
    resumed: bool = False
    seconds: float = 0.0
