"""Shared fixtures: the store tests (tests/store, tests/abuse, tests/enforcement) run the same
cases against SQLite and the real PostgreSQL (skipped, with the reason, where it is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aupguard.store import Store
from aupguard.store.testing import MovableClock, open_test_store, postgres_unavailable_reason


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path, clock: MovableClock) -> Iterator[Store]:
    if request.param == "postgresql" and (reason := postgres_unavailable_reason()):
        pytest.skip(reason)
    with open_test_store(request.param, tmp_path, clock) as opened:
        yield opened
