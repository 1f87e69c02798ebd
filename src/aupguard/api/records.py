"""Records of the service in SQLite (stdlib): decisions (statements of reasons, never raw
content), reports, appeals, shadow-mode results, uploaded packs and which version is active.

One file shared by every worker of one host (WAL mode). The store package replaces this with
its SQLAlchemy models; the method names here are the contract the routes use.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
  id TEXT PRIMARY KEY,
  created REAL NOT NULL,
  account_id TEXT NOT NULL,
  org_id TEXT,
  kind TEXT NOT NULL,
  policy TEXT NOT NULL,
  action TEXT NOT NULL,
  modality TEXT NOT NULL,
  generation_id TEXT,
  statement TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_account ON decisions(account_id);
CREATE TABLE IF NOT EXISTS reports (
  id TEXT PRIMARY KEY,
  created REAL NOT NULL,
  reporter_account TEXT,
  category TEXT NOT NULL,
  reason TEXT NOT NULL,
  item TEXT NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS appeals (
  id TEXT PRIMARY KEY,
  created REAL NOT NULL,
  decision_id TEXT NOT NULL UNIQUE REFERENCES decisions(id),
  account_id TEXT NOT NULL,
  statement TEXT NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS shadow_results (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created REAL NOT NULL,
  pack_id TEXT NOT NULL,
  live_version TEXT NOT NULL,
  shadow_version TEXT NOT NULL,
  modality TEXT NOT NULL,
  live_action TEXT NOT NULL,
  shadow_action TEXT NOT NULL,
  shadow_categories TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packs (
  pack_id TEXT NOT NULL,
  version TEXT NOT NULL,
  yaml TEXT NOT NULL,
  uploaded REAL NOT NULL,
  PRIMARY KEY (pack_id, version)
);
CREATE TABLE IF NOT EXISTS pack_state (
  pack_id TEXT PRIMARY KEY,
  active_version TEXT,
  shadow_version TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta(key, value) VALUES ('packs_generation', 0);
"""


class StoreUnavailableError(RuntimeError):
    """The records store cannot be read or written (the service fails closed on it)."""


class RecordConflictError(ValueError):
    """The record exists already (a pack version uploaded twice, a decision appealed twice)."""


class RecordsStore(Protocol):
    """What the routes need of the service's records: ``Records`` (a SQLite file per host,
    the embedded backend) or ``records_store.StoreRecords`` (the store's database)."""

    def ping(self) -> None: ...
    def close(self) -> None: ...
    def add_decision(
        self,
        *,
        decision_id: str,
        account_id: str,
        org_id: str | None,
        kind: str,
        policy: str,
        action: str,
        modality: str,
        statement: dict[str, Any],
        generation_id: str | None = None,
    ) -> None: ...
    def get_decision(self, decision_id: str) -> dict[str, Any] | None: ...
    def add_report(
        self, *, reporter_account: str | None, category: str, reason: str, item: dict[str, Any]
    ) -> dict[str, Any]: ...
    def get_report(self, report_id: str) -> dict[str, Any] | None: ...
    def add_appeal(
        self, *, decision_id: str, account_id: str, statement: str
    ) -> dict[str, Any]: ...
    def add_shadow_result(
        self,
        *,
        pack_id: str,
        live_version: str,
        shadow_version: str,
        modality: str,
        live_action: str,
        shadow_action: str,
        shadow_categories: list[str],
    ) -> None: ...
    def shadow_summary(self, pack_id: str) -> list[dict[str, Any]]: ...
    def add_pack(self, pack_id: str, version: str, yaml_text: str) -> None: ...
    def uploaded_packs(self) -> list[tuple[str, str, str]]: ...
    def set_pack_state(
        self, pack_id: str, *, active: str | bool | None = False, shadow: str | bool | None = False
    ) -> None: ...
    def pack_states(self) -> dict[str, tuple[str | None, str | None]]: ...
    def packs_generation(self) -> int: ...


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


class Records:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    # -- connection ------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=5.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                conn = self._connect()
                with conn:
                    yield conn
            except (sqlite3.OperationalError, sqlite3.DatabaseError, OSError) as exc:
                if isinstance(exc, sqlite3.IntegrityError):
                    raise RecordConflictError(str(exc)) from exc
                self._conn = None
                raise StoreUnavailableError(f"records store {self.path}: {exc}") from exc

    def ping(self) -> None:
        """Raise StoreUnavailableError unless the store can be written."""
        if not self.path.parent.exists():
            self._conn = None
            raise StoreUnavailableError(f"records store directory {self.path.parent} is missing")
        with self._tx() as conn:
            conn.execute("UPDATE meta SET value = value WHERE key = 'packs_generation'")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # -- decisions -------------------------------------------------------------------------
    def add_decision(
        self,
        *,
        decision_id: str,
        account_id: str,
        org_id: str | None,
        kind: str,
        policy: str,
        action: str,
        modality: str,
        statement: dict[str, Any],
        generation_id: str | None = None,
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO decisions VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    decision_id,
                    time.time(),
                    account_id,
                    org_id,
                    kind,
                    policy,
                    action,
                    modality,
                    generation_id,
                    json.dumps(statement, ensure_ascii=False),
                ),
            )

    def get_decision(self, decision_id: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM decisions WHERE id = ?", (decision_id,)).fetchone()
            if row is None:
                return None
            appeal = conn.execute(
                "SELECT id, status, created FROM appeals WHERE decision_id = ?", (decision_id,)
            ).fetchone()
        out = dict(row)
        out["statement"] = json.loads(out["statement"])
        out["appeal"] = dict(appeal) if appeal is not None else None
        return out

    # -- reports ---------------------------------------------------------------------------
    def add_report(
        self, *, reporter_account: str | None, category: str, reason: str, item: dict[str, Any]
    ) -> dict[str, Any]:
        report = {
            "id": new_id("rep"),
            "created": time.time(),
            "reporter_account": reporter_account,
            "category": category,
            "reason": reason,
            "item": item,
            "status": "received",
        }
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO reports VALUES (?,?,?,?,?,?,?)",
                (
                    report["id"],
                    report["created"],
                    reporter_account,
                    category,
                    reason,
                    json.dumps(item, ensure_ascii=False),
                    "received",
                ),
            )
        return report

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute("SELECT * FROM reports WHERE id = ?", (report_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["item"] = json.loads(out["item"])
        return out

    # -- appeals ---------------------------------------------------------------------------
    def add_appeal(self, *, decision_id: str, account_id: str, statement: str) -> dict[str, Any]:
        appeal = {
            "id": new_id("apl"),
            "created": time.time(),
            "decision_id": decision_id,
            "account_id": account_id,
            "status": "pending",
        }
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO appeals VALUES (?,?,?,?,?,?)",
                (appeal["id"], appeal["created"], decision_id, account_id, statement, "pending"),
            )
        return appeal

    # -- shadow ----------------------------------------------------------------------------
    def add_shadow_result(
        self,
        *,
        pack_id: str,
        live_version: str,
        shadow_version: str,
        modality: str,
        live_action: str,
        shadow_action: str,
        shadow_categories: list[str],
    ) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO shadow_results(created, pack_id, live_version, shadow_version, "
                "modality, live_action, shadow_action, shadow_categories) VALUES (?,?,?,?,?,?,?,?)",
                (
                    time.time(),
                    pack_id,
                    live_version,
                    shadow_version,
                    modality,
                    live_action,
                    shadow_action,
                    json.dumps(shadow_categories),
                ),
            )

    def shadow_summary(self, pack_id: str) -> list[dict[str, Any]]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT live_version, shadow_version, live_action, shadow_action, COUNT(*) AS n "
                "FROM shadow_results WHERE pack_id = ? GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4",
                (pack_id,),
            ).fetchall()
        return [dict(r) for r in rows]

    # -- packs -----------------------------------------------------------------------------
    def add_pack(self, pack_id: str, version: str, yaml_text: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO packs VALUES (?,?,?,?)", (pack_id, version, yaml_text, time.time())
            )
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'packs_generation'")

    def uploaded_packs(self) -> list[tuple[str, str, str]]:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT pack_id, version, yaml FROM packs ORDER BY uploaded"
            ).fetchall()
        return [(r["pack_id"], r["version"], r["yaml"]) for r in rows]

    def set_pack_state(
        self, pack_id: str, *, active: str | bool | None = False, shadow: str | bool | None = False
    ) -> None:
        """Set the active and/or shadow version (False leaves a field as it is)."""
        with self._tx() as conn:
            conn.execute("INSERT OR IGNORE INTO pack_state(pack_id) VALUES (?)", (pack_id,))
            if active is not False:
                conn.execute(
                    "UPDATE pack_state SET active_version = ? WHERE pack_id = ?", (active, pack_id)
                )
            if shadow is not False:
                conn.execute(
                    "UPDATE pack_state SET shadow_version = ? WHERE pack_id = ?", (shadow, pack_id)
                )
            conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'packs_generation'")

    def pack_states(self) -> dict[str, tuple[str | None, str | None]]:
        with self._tx() as conn:
            rows = conn.execute("SELECT * FROM pack_state").fetchall()
        return {r["pack_id"]: (r["active_version"], r["shadow_version"]) for r in rows}

    def packs_generation(self) -> int:
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'packs_generation'").fetchone()
        return int(row["value"])
