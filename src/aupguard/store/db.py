"""The ``Store``: one database (SQLite file or PostgreSQL), migrated on open, with the
repositories that read and write it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from aupguard.store.errors import StoreUnavailableError

DATABASE_URL_ENV = "AUPGUARD_DATABASE_URL"
DEFAULT_DATABASE_URL = "sqlite:///./aupguard.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def database_url_from_env() -> str:
    """``AUPGUARD_DATABASE_URL`` or the SQLite file ``./aupguard.db``. A bare
    ``postgresql://`` URL is given the psycopg 3 driver."""
    url = os.environ.get(DATABASE_URL_ENV, "").strip() or DEFAULT_DATABASE_URL
    return _with_driver(url)


def _with_driver(url: str) -> str:
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg://" + url[len(bare) :]
    return url


class Store:
    """Open with ``Store.open(url)``; close with ``close()`` (or use as a context manager).

    ``clock`` gives "now" for every timestamp the store writes and every expiry it checks, so
    a service can run on one clock and tests can move it.
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow, schema: str | None = None):
        from aupguard.store.accounts import AccountRepository
        from aupguard.store.credits import CreditLedger
        from aupguard.store.enforcement import EnforcementRepository
        from aupguard.store.events import EventLog
        from aupguard.store.keys import KeyRepository
        from aupguard.store.vault import VaultRepository

        self.engine = engine
        self.clock = clock
        self.schema = schema
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._sqlite_write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None
        self.events = EventLog(self)
        self.accounts = AccountRepository(self)
        self.keys = KeyRepository(self)
        self.credits = CreditLedger(self)
        self.enforcement = EnforcementRepository(self)
        self.vault = VaultRepository(self)

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        schema: str | None = None,
        clock: Clock = utcnow,
        migrate: bool = True,
        echo: bool = False,
    ) -> Store:
        """Connect to ``url`` (default: ``AUPGUARD_DATABASE_URL``) and upgrade to the newest
        schema. ``schema`` (PostgreSQL only) keeps the tables in their own schema, created if
        missing — one per test run or tenant."""
        url = _with_driver(url) if url else database_url_from_env()
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema name {schema!r} must match {_SCHEMA_NAME.pattern}")
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        is_sqlite = url.startswith("sqlite")
        if is_sqlite:
            if schema is not None:
                raise ValueError("`schema` is for PostgreSQL; SQLite keeps one schema per file")
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if url in ("sqlite://", "sqlite:///:memory:"):
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
        try:
            engine = create_engine(url, **kwargs)
        except (SQLAlchemyError, ValueError, ImportError) as exc:
            raise StoreUnavailableError(f"cannot use database URL {_redact(url)}: {exc}") from exc
        if is_sqlite:
            _configure_sqlite(engine)
        elif schema is not None:
            _configure_schema(engine, schema)
        store = cls(engine, clock=clock, schema=schema)
        if migrate:
            store.upgrade()
        return store

    def upgrade(self, revision: str = "head") -> None:
        """Run the Alembic migrations shipped in this package up to ``revision``."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                config.attributes["schema"] = self.schema
                command.upgrade(config, revision)
        except OperationalError as exc:
            raise StoreUnavailableError(f"cannot migrate the database: {exc.orig}") from exc

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sessions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def session(self, *, write: bool = False) -> Iterator[Session]:
        """A transaction. ``write=True`` takes the write lock up front on SQLite (so a
        read-check-write such as spending credits cannot interleave); on PostgreSQL the
        repositories lock the rows they check (``SELECT … FOR UPDATE``)."""
        lock = self._sqlite_write_lock if write else None
        with lock if lock is not None else contextlib.nullcontext():
            try:
                with self._sessions.begin() as session:
                    if write:
                        session.connection(execution_options={"sqlite_immediate": True})
                    yield session
            except OperationalError as exc:
                raise StoreUnavailableError(f"database error: {exc.orig}") from exc

    def now(self) -> dt.datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the store clock returned a naive datetime; it must be aware UTC")
        return now

    def ping(self) -> None:
        """Raise ``StoreUnavailableError`` unless the database answers."""
        with self.session() as session:
            session.execute(text("SELECT 1"))


def _redact(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # autocommit at the driver level; transactions are begun below, so that a write
        # transaction can BEGIN IMMEDIATE (the pysqlite default defers the lock)
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        with contextlib.suppress(Exception):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _configure_schema(engine: Engine, schema: str) -> None:
    # the listener comes first, so that every pooled connection, including the one that
    # creates the schema, works inside it
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_connection.commit()
