"""Fixtures for the records tests: a signing key, an audit log on the parametrised store
(SQLite and the real PostgreSQL), and a way around the append-only triggers so tests can
tamper with stored events the way an attacker with database access would."""

from __future__ import annotations

import pytest

from aupguard.records import AuditLog, SigningKey
from aupguard.store import Store


@pytest.fixture
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def audit(store: Store, signing_key: SigningKey) -> AuditLog:
    return AuditLog(store, signing_key=signing_key, checkpoint_every=1_000_000)
