"""JSONL input: one object per line with a text field (``text``, else ``prompt``, or
``--field``), or a JSON string. Offsets are 0-based line numbers; blank lines are no items.
A line that is not UTF-8, not JSON, or has no text field becomes an item with an error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from aupguard.scan.models import Item, ItemKind
from aupguard.scan.readers.base import ScanInputError, text_item


class JsonlReader:
    def __init__(self, path: Path, field: str | None, id_field: str) -> None:
        self.path = str(path)
        self._file = path
        self._field = field
        self._id_field = id_field

    def count(self) -> int | None:
        n = 0
        for line in self._lines():
            n += bool(line.strip())
        return n

    def _lines(self) -> Iterator[bytes]:
        try:
            with self._file.open("rb") as f:
                yield from f
        except OSError as exc:
            raise ScanInputError(f"cannot read {self._file}: {exc.strerror}") from None

    def items(self) -> Iterator[Item]:
        for offset, raw in enumerate(self._lines()):
            if raw.strip():
                yield self._item(offset, raw)

    def _item(self, offset: int, raw: bytes) -> Item:
        where = f"line {offset + 1}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error(offset, f"{where} is not valid UTF-8 (byte {exc.start})", "bad_encoding")
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            return _error(offset, f"{where} is not JSON ({exc.msg})", "bad_record")
        if isinstance(obj, str):
            return Item(offset=offset, kind=ItemKind.TEXT, text=obj)
        if not isinstance(obj, dict):
            return _error(offset, f"{where} is a JSON {type(obj).__name__}", "bad_record")
        return text_item(offset, obj, self._field, self._id_field)


def _error(offset: int, message: str, code: str) -> Item:
    return Item(offset=offset, kind=ItemKind.TEXT, error=message, error_code=code)
