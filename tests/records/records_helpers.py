"""Helpers for the records tests: a way around the append-only triggers so tests can tamper
with stored events the way an attacker with database access would."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import text

from aupguard.store import Store

_SQLITE_DROP = ("DROP TRIGGER events_no_update", "DROP TRIGGER events_no_delete")
_SQLITE_CREATE = (
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
)


@contextlib.contextmanager
def tampering(store: Store) -> Iterator[None]:
    """Run raw SQL against ``events`` with the triggers out of the way (restored after;
    on SQLite the plain append-only triggers come back, enough for the tests)."""
    sqlite = store.engine.dialect.name == "sqlite"
    with store.engine.begin() as conn:
        if sqlite:
            for statement in _SQLITE_DROP:
                conn.execute(text(statement))
        else:
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER events_no_update"))
    try:
        yield
    finally:
        with store.engine.begin() as conn:
            if sqlite:
                for statement in _SQLITE_CREATE:
                    conn.execute(text(statement))
            else:
                conn.execute(text("ALTER TABLE events ENABLE TRIGGER events_no_update"))


def sql(store: Store, statement: str, **params: object) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)
