"""What every input reader gives: items in offset order, and how many there are."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Protocol

from aupguard.scan.models import Item, ItemKind

TEXT_FIELDS = ("text", "prompt")


class ScanInputError(Exception):
    """The input as a whole is unusable (missing, unreadable, no such column): nothing to scan."""


class Reader(Protocol):
    path: str

    def count(self) -> int | None:
        """How many items there will be (for the progress bar), or None when unknown."""

    def items(self) -> Iterator[Item]:
        """Every item, in increasing offset; an item that cannot be read carries ``error``."""


def pick_field(available: Collection[str], field: str | None) -> str | None:
    """The text field: ``field`` when given, else ``text``, else ``prompt``."""
    if field is not None:
        return field if field in available else None
    return next((f for f in TEXT_FIELDS if f in available), None)


def text_item(offset: int, record: Mapping[str, object], field: str | None, id_field: str) -> Item:
    """An item from one record (a JSONL object or a table row)."""
    raw_id = record.get(id_field)
    item_id = None if raw_id is None else str(raw_id)
    name = pick_field(record, field)
    if name is None:
        wanted = repr(field) if field else " or ".join(map(repr, TEXT_FIELDS))
        return Item(
            offset=offset,
            kind=ItemKind.TEXT,
            id=item_id,
            error=f"no field {wanted} in this record",
            error_code="missing_field",
        )
    value = record[name]
    if not isinstance(value, str):
        return Item(
            offset=offset,
            kind=ItemKind.TEXT,
            id=item_id,
            error=f"field {name!r} is {type(value).__name__}, not a string",
            error_code="bad_field",
        )
    return Item(offset=offset, kind=ItemKind.TEXT, id=item_id, text=value)
