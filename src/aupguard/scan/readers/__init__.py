"""Input readers of ``aupguard scan``, one per format, chosen by the input's kind and suffix."""

from __future__ import annotations

import os
from pathlib import Path

from aupguard.scan.readers.base import Reader, ScanInputError
from aupguard.scan.readers.csv import CsvReader
from aupguard.scan.readers.images import IMAGE_SUFFIXES, ImageFolderReader
from aupguard.scan.readers.jsonl import JsonlReader
from aupguard.scan.readers.parquet import ParquetReader

__all__ = [
    "IMAGE_SUFFIXES",
    "ImageFolderReader",
    "Reader",
    "ScanInputError",
    "fingerprint",
    "open_reader",
]

_BY_SUFFIX: dict[str, type[JsonlReader | CsvReader | ParquetReader]] = {
    ".jsonl": JsonlReader,
    ".ndjson": JsonlReader,
    ".csv": CsvReader,
    ".parquet": ParquetReader,
    ".pq": ParquetReader,
}


def open_reader(path: Path, field: str | None = None, id_field: str = "id") -> Reader:
    """The reader for PATH: a folder is read as images; a file by its suffix."""
    if path.is_dir():
        return ImageFolderReader(path)
    if not path.exists():
        raise ScanInputError(f"{path} does not exist")
    cls = _BY_SUFFIX.get(path.suffix.lower())
    if cls is None:
        known = ", ".join(sorted(_BY_SUFFIX))
        raise ScanInputError(
            f"{path}: unknown input format {path.suffix!r} (known: {known}, or a folder of images)"
        )
    return cls(path, field, id_field)


def fingerprint(reader: Reader) -> str:
    """Identifies the input's content state cheaply, so a resume refuses a changed input."""
    if isinstance(reader, ImageFolderReader):
        return reader.fingerprint()
    st = os.stat(reader.path)
    return f"{st.st_size}:{st.st_mtime_ns}"
