"""Parquet input (needs the ``scan`` extra: pyarrow). Read in record batches of the text and
id columns only; offsets are 0-based rows. A null or non-string value is an error item."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aupguard.scan.models import Item
from aupguard.scan.readers.base import ScanInputError, pick_field, text_item

BATCH_ROWS = 4096


def _parquet() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ScanInputError(
            "reading Parquet needs the 'scan' extra: pip install 'aupguard[scan]'"
        ) from None
    return pq


class ParquetReader:
    def __init__(self, path: Path, field: str | None, id_field: str) -> None:
        self.path = str(path)
        self._file = path
        self._field = field
        self._id_field = id_field

    def _open(self) -> Any:
        pq = _parquet()
        try:
            return pq.ParquetFile(self._file)
        except OSError as exc:
            raise ScanInputError(f"cannot read {self._file} as Parquet: {exc}") from None
        except Exception as exc:  # pyarrow raises ArrowInvalid for a file that is not Parquet
            raise ScanInputError(f"cannot read {self._file} as Parquet: {exc}") from None

    def count(self) -> int | None:
        return int(self._open().metadata.num_rows)

    def items(self) -> Iterator[Item]:
        pf = self._open()
        columns = set(pf.schema_arrow.names)
        name = pick_field(columns, self._field)
        if name is None:
            wanted = repr(self._field) if self._field else "'text' or 'prompt'"
            raise ScanInputError(
                f"{self._file}: no column {wanted}; columns: {sorted(columns)} "
                "(choose one with --field)"
            )
        wanted_columns = [name] + ([self._id_field] if self._id_field in columns else [])
        offset = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=wanted_columns):
            for row in batch.to_pylist():
                record = {k: v for k, v in row.items() if v is not None or k == name}
                yield text_item(offset, record, name, self._id_field)
                offset += 1
