"""The migrations create exactly the tables the models describe; bad URLs fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from aupguard.store import Store, StoreUnavailableError, database_url_from_env
from aupguard.store.schema import Base


def test_migrations_match_models(store: Store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_default_url_and_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUPGUARD_DATABASE_URL", raising=False)
    assert database_url_from_env() == "sqlite:///./aupguard.db"
    monkeypatch.setenv("AUPGUARD_DATABASE_URL", "postgresql://u@h/db")
    assert database_url_from_env() == "postgresql+psycopg://u@h/db"


def test_file_store_persists(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with Store.open(url) as first:
        org = first.accounts.create_org("Acme")
    with Store.open(url) as second:
        assert second.accounts.org(org.id).name == "Acme"


def test_unreachable_database_fails_closed() -> None:
    with pytest.raises(StoreUnavailableError, match="cannot"):
        Store.open("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailableError):
        Store.open("notadb://x")


def test_bad_schema_name() -> None:
    with pytest.raises(ValueError, match="schema name"):
        Store.open("postgresql://postgres@127.0.0.1/test", schema="x; drop")
