"""Helpers for tests that run against the real backends: a throwaway PostgreSQL schema or
SQLite file per run, a Redis key prefix per run, and a clock tests can move.

``AUPGUARD_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``)
and ``AUPGUARD_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) name the servers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from aupguard.store.db import Store

TEST_POSTGRES_URL_ENV = "AUPGUARD_TEST_POSTGRES_URL"
TEST_REDIS_URL_ENV = "AUPGUARD_TEST_REDIS_URL"
DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/0"


class MovableClock:
    """A thread-safe clock that starts at a fixed UTC time and moves only when told to."""

    def __init__(self, start: dt.datetime | None = None):
        self._now = start or dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    def advance(self, delta: dt.timedelta) -> None:
        with self._lock:
            self._now += delta

    def set(self, when: dt.datetime) -> None:
        with self._lock:
            self._now = when


def postgres_unavailable_reason() -> str | None:
    """None if the test PostgreSQL answers, else why not (for ``pytest.skip``)."""
    url = os.environ.get(TEST_POSTGRES_URL_ENV, DEFAULT_TEST_POSTGRES_URL)
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'aupguard[store]')"
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(plain, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL at {plain} is not reachable: {str(exc).splitlines()[0]}"
    return None


def redis_unavailable_reason() -> str | None:
    url = os.environ.get(TEST_REDIS_URL_ENV, DEFAULT_TEST_REDIS_URL)
    try:
        import redis
    except ImportError:
        return "redis is not installed (pip install 'aupguard[store]')"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis at {url} is not reachable: {exc}"
    return None


def redis_test_url() -> str:
    return os.environ.get(TEST_REDIS_URL_ENV, DEFAULT_TEST_REDIS_URL)


def unique_name(prefix: str) -> str:
    return f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"


@contextlib.contextmanager
def open_test_store(
    backend: str, tmp_path: Path, clock: MovableClock | None = None
) -> Iterator[Store]:
    """A migrated, empty store on ``backend`` ("sqlite" or "postgresql"), removed afterwards."""
    clock = clock or MovableClock()
    if backend == "sqlite":
        store = Store.open(f"sqlite:///{tmp_path / 'aupguard-test.db'}", clock=clock)
        try:
            yield store
        finally:
            store.close()
        return
    if backend != "postgresql":
        raise ValueError(f"unknown test backend {backend!r}")
    url = os.environ.get(TEST_POSTGRES_URL_ENV, DEFAULT_TEST_POSTGRES_URL)
    schema = unique_name("aupg_test")
    store = Store.open(url, schema=schema, clock=clock)
    try:
        yield store
    finally:
        store.close()
        from sqlalchemy import create_engine, text

        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def head_revision() -> str | None:
    """The newest Alembic revision shipped in this package (what ``Store.open`` migrates to)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from aupguard.store.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config).get_current_head()
