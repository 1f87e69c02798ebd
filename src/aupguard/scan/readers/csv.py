"""CSV input with a header row; the text column is ``text``, else ``prompt``, or ``--field``.
Offsets are 0-based data rows. A row that is not UTF-8 or lacks the column is an error item."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

from aupguard.scan.models import Item, ItemKind
from aupguard.scan.readers.base import ScanInputError, pick_field, text_item

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class CsvReader:
    def __init__(self, path: Path, field: str | None, id_field: str) -> None:
        self.path = str(path)
        self._file = path
        self._field = field
        self._id_field = id_field

    def count(self) -> int | None:
        return sum(1 for _ in self._rows())

    def _rows(self) -> Iterator[dict[str, str | None]]:
        try:
            with self._file.open(encoding="utf-8", errors="surrogateescape", newline="") as f:
                reader = csv.DictReader(f)
                columns = set(reader.fieldnames or ())
                if pick_field(columns, self._field) is None:
                    wanted = repr(self._field) if self._field else "'text' or 'prompt'"
                    raise ScanInputError(
                        f"{self._file}: no column {wanted}; columns: {sorted(columns)} "
                        "(choose one with --field)"
                    )
                yield from reader
        except OSError as exc:
            raise ScanInputError(f"cannot read {self._file}: {exc.strerror}") from None
        except csv.Error as exc:
            raise ScanInputError(f"{self._file}: not readable as CSV ({exc})") from None

    def items(self) -> Iterator[Item]:
        for offset, row in enumerate(self._rows()):
            if any(_undecodable(v) for v in row.values() if isinstance(v, str)):
                yield Item(
                    offset=offset,
                    kind=ItemKind.TEXT,
                    error=f"row {offset + 1} is not valid UTF-8",
                    error_code="bad_encoding",
                )
                continue
            record = {k: v for k, v in row.items() if k is not None and v is not None}
            yield text_item(offset, record, self._field, self._id_field)


def _undecodable(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)
