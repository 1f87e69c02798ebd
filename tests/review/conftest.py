"""A review desk on each backend: a SQLite file and the real PostgreSQL (a throwaway schema),
on a movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aupguard.review import ReviewDesk
from aupguard.store import Store
from aupguard.store.testing import MovableClock, open_test_store, postgres_unavailable_reason

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgresql":
        reason = postgres_unavailable_reason()
        if reason:
            pytest.skip(reason)
    with open_test_store(request.param, tmp_path, MovableClock()) as s:
        yield s


@pytest.fixture
def clock(store: Store) -> MovableClock:
    assert isinstance(store.clock, MovableClock)
    return store.clock


@pytest.fixture
def desk(store: Store) -> ReviewDesk:
    return ReviewDesk(store)
