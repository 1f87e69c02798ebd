"""Hash banks: labelled lists of known-bad PDQ hashes, their file format, and their database.

File format (as exchanged with Meta's ThreatExchange / Hasher-Matcher-Actioner): one hash per
line as 64 hex digits, optionally followed by a comma or tab and labels separated by spaces or
semicolons (``<pdq hex>,sexual/minors;ncmec``). A leading ``pdq`` signal-type column
(``pdq <hex> <labels>``), a header row (``pdq_hash,labels``), blank lines and ``#`` comments
are accepted. Labels that are taxonomy categories decide what a match scores; a bank's own
category applies when no label is one. Export writes the same format with a header.

Banks are kept in a SQLite database (stdlib ``sqlite3``; ``AUPGUARD_HASH_DB``), including the
operator's own bank of removed outputs, so a re-upload of removed content, or an output of a
banned account uploaded by a new account, is matched.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from aupguard.images.hash_index import PdqIndex
from aupguard.images.pdq import DEFAULT_MATCH_DISTANCE, MIN_QUALITY, is_pdq_hex

BUILTIN_BANK_DIR: Final = Path(__file__).parent / "banks"
SYNTHETIC_TEST_BANK: Final = BUILTIN_BANK_DIR / "synthetic-test.csv"
_SPLIT_LABELS = re.compile(r"[;\s]+")
_HEADER_WORDS = {"pdq", "pdq_hash", "hash", "signal_value", "signal", "value"}


class HashBankError(ValueError):
    """A hash bank file or database row is unusable; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class BankEntry:
    hash_hex: str
    labels: tuple[str, ...] = ()
    bank: str = ""
    quality: int | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class BankMatch:
    entry: BankEntry
    distance: int


def parse_bank_lines(lines: Iterable[str], *, bank: str, where: str) -> Iterator[BankEntry]:
    first = True
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        header_allowed, first = first, False
        fields = [f.strip() for f in re.split(r"[,\t]", line, maxsplit=1)]
        head = fields[0].split()
        if head and head[0].lower() == "pdq" and len(head) > 1:  # "pdq <hex> [labels]"
            fields = [head[1], " ".join(head[2:]) + (" " + fields[1] if len(fields) > 1 else "")]
        elif len(head) > 1 and len(fields) == 1:  # "<hex> label label"
            fields = [head[0], " ".join(head[1:])]
        value = fields[0]
        if not is_pdq_hex(value):
            if header_allowed and value.lower() in _HEADER_WORDS:
                continue
            raise HashBankError(
                f"{where}:{lineno}: expected a PDQ hash (64 hex digits), got {value[:70]!r}"
            )
        labels = tuple(x for x in _SPLIT_LABELS.split(fields[1]) if x) if len(fields) > 1 else ()
        yield BankEntry(hash_hex=value.lower(), labels=labels, bank=bank)


def read_bank_file(path: Path | str, *, bank: str | None = None) -> list[BankEntry]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HashBankError(f"{path}: cannot read hash bank ({exc})") from None
    return list(parse_bank_lines(text.splitlines(), bank=bank or path.stem, where=str(path)))


def format_bank(entries: Iterable[BankEntry]) -> str:
    rows = ["pdq_hash,labels"]
    rows += [f"{e.hash_hex},{';'.join(e.labels)}" for e in entries]
    return "\n".join(rows) + "\n"


@dataclass
class HashMatcher:
    """Entries from any number of banks behind one PDQ index."""

    max_distance: int = DEFAULT_MATCH_DISTANCE
    entries: list[BankEntry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = PdqIndex(self.max_distance)
        for entry in list(self.entries):
            self._index.add(entry.hash_hex)

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: BankEntry) -> None:
        self.entries.append(entry)
        self._index.add(entry.hash_hex)

    def extend(self, entries: Iterable[BankEntry]) -> None:
        for entry in entries:
            self.add(entry)

    def match(self, hash_hex: str) -> list[BankMatch]:
        return [
            BankMatch(entry=self.entries[m.position], distance=m.distance)
            for m in self._index.search(hash_hex)
        ]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS image_hash_banks (
  name TEXT PRIMARY KEY,
  category TEXT,
  description TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS image_hashes (
  bank TEXT NOT NULL REFERENCES image_hash_banks(name) ON DELETE CASCADE,
  pdq TEXT NOT NULL,
  labels TEXT NOT NULL DEFAULT '',
  quality INTEGER,
  source TEXT,
  added_at TEXT NOT NULL,
  PRIMARY KEY (bank, pdq)
);
"""


class HashBankStore:
    """Hash banks in SQLite. Adding a hash that is already in the bank merges its labels."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn = sqlite3.connect(self.path)
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> HashBankStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_bank(self, name: str, *, category: str | None = None, description: str = "") -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", name):
            raise HashBankError(f"bank name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
        with self._conn:
            self._conn.execute(
                "INSERT INTO image_hash_banks(name, category, description, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
                "category = COALESCE(excluded.category, category)",
                (name, category, description, _now()),
            )

    def banks(self) -> dict[str, str | None]:
        rows = self._conn.execute("SELECT name, category FROM image_hash_banks ORDER BY name")
        return {name: category for name, category in rows}

    def add(
        self,
        bank: str,
        entries: Sequence[BankEntry],
        *,
        skip_low_quality: bool = True,
    ) -> int:
        """Add entries to a bank (created if new); returns how many were stored. Entries with a
        known quality below the PDQ threshold are skipped: they would match unrelated images."""
        self.ensure_bank(bank)
        stored = 0
        with self._conn:
            for e in entries:
                if skip_low_quality and e.quality is not None and e.quality < MIN_QUALITY:
                    continue
                existing = self._conn.execute(
                    "SELECT labels FROM image_hashes WHERE bank = ? AND pdq = ?",
                    (bank, e.hash_hex),
                ).fetchone()
                labels = list(
                    dict.fromkeys([*(existing[0].split(";") if existing else []), *e.labels])
                )
                self._conn.execute(
                    "INSERT INTO image_hashes(bank, pdq, labels, quality, source, added_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(bank, pdq) DO UPDATE SET "
                    "labels = excluded.labels",
                    (
                        bank,
                        e.hash_hex,
                        ";".join(x for x in labels if x),
                        e.quality,
                        e.source,
                        _now(),
                    ),
                )
                stored += 1
        return stored

    def entries(self, bank: str | None = None) -> list[BankEntry]:
        query = "SELECT bank, pdq, labels, quality, source FROM image_hashes"
        args: tuple[str, ...] = ()
        if bank is not None:
            query += " WHERE bank = ?"
            args = (bank,)
        query += " ORDER BY bank, rowid"
        categories = self.banks()
        out: list[BankEntry] = []
        for name, pdq, labels, quality, source in self._conn.execute(query, args):
            label_list = [x for x in labels.split(";") if x]
            category = categories.get(name)
            if category and category not in label_list:
                label_list.append(category)
            out.append(
                BankEntry(
                    hash_hex=pdq,
                    labels=tuple(label_list),
                    bank=name,
                    quality=quality,
                    source=source,
                )
            )
        return out

    def remove(self, bank: str, hash_hex: str) -> bool:
        with self._conn:
            cur = self._conn.execute(
                "DELETE FROM image_hashes WHERE bank = ? AND pdq = ?", (bank, hash_hex.lower())
            )
        return cur.rowcount > 0


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
