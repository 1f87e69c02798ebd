"""A folder of images (png, jpg/jpeg, webp, gif, searched recursively, in sorted order).
An item is the file's path; the worker reads and decodes it, so an unreadable or broken file
becomes an error row there. Other files in the folder are not items."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

from aupguard.scan.models import Item, ItemKind
from aupguard.scan.readers.base import ScanInputError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".gif"})


class ImageFolderReader:
    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self._dir = path
        self._files: list[Path] | None = None

    def files(self) -> list[Path]:
        if self._files is None:
            try:
                found = [p for p in self._dir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES]
            except OSError as exc:
                raise ScanInputError(f"cannot list {self._dir}: {exc.strerror}") from None
            self._files = sorted(p for p in found if not p.is_dir())
        return self._files

    def count(self) -> int | None:
        return len(self.files())

    def fingerprint(self) -> str:
        """Names, sizes and times of the images: a resumed scan must see the same folder."""
        h = hashlib.sha256()
        for p in self.files():
            try:
                st = p.stat()
                h.update(f"{p.relative_to(self._dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            except OSError:
                h.update(f"{p.relative_to(self._dir)}\0?\n".encode())
        return h.hexdigest()

    def items(self) -> Iterator[Item]:
        for offset, p in enumerate(self.files()):
            rel = str(p.relative_to(self._dir))
            yield Item(offset=offset, kind=ItemKind.IMAGE, id=rel, path=str(p))
