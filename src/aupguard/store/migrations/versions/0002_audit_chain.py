"""Audit chain: every event carries its position in the chain (``seq``), the hash of its
payload, the hash of the event before it and its own hash; a one-row chain head that writers
lock; signed checkpoints. Events written before this revision are chained here, in id order.

The append-only triggers are replaced by ones that allow exactly one kind of change: a
retention purge, which swaps an event's ``data`` for ``{"_purged": true, ...}`` and leaves
every other column, the hashes included, as it was (so the chain still verifies).

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

# an UPDATE is a purge only if it leaves every column but ``data`` alone and marks data purged
_SQLITE_PURGE_ONLY = (
    "OLD.hash IS NOT NULL AND NEW.id IS OLD.id AND NEW.seq IS OLD.seq "
    "AND NEW.hash IS OLD.hash AND NEW.prev_hash IS OLD.prev_hash "
    "AND NEW.payload_hash IS OLD.payload_hash AND NEW.at IS OLD.at AND NEW.kind IS OLD.kind "
    "AND NEW.actor IS OLD.actor AND NEW.account_id IS OLD.account_id "
    "AND NEW.org_id IS OLD.org_id AND NEW.subject IS OLD.subject "
    "AND json_valid(NEW.data) AND json_extract(NEW.data, '$._purged') = 1"
)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    f"WHEN NOT ({_SQLITE_PURGE_ONLY}) "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
)
_SQLITE_OLD_TRIGGERS = (
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
    "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
)
_POSTGRES_TRIGGERS = (
    "CREATE FUNCTION events_append_only_or_purge() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_OP = 'UPDATE' AND OLD.hash IS NOT NULL "
    "AND NEW.id IS NOT DISTINCT FROM OLD.id AND NEW.seq IS NOT DISTINCT FROM OLD.seq "
    "AND NEW.hash IS NOT DISTINCT FROM OLD.hash "
    "AND NEW.prev_hash IS NOT DISTINCT FROM OLD.prev_hash "
    "AND NEW.payload_hash IS NOT DISTINCT FROM OLD.payload_hash "
    "AND NEW.at IS NOT DISTINCT FROM OLD.at AND NEW.kind IS NOT DISTINCT FROM OLD.kind "
    "AND NEW.actor IS NOT DISTINCT FROM OLD.actor "
    "AND NEW.account_id IS NOT DISTINCT FROM OLD.account_id "
    "AND NEW.org_id IS NOT DISTINCT FROM OLD.org_id "
    "AND NEW.subject IS NOT DISTINCT FROM OLD.subject "
    "AND (NEW.data::jsonb ->> '_purged') = 'true' THEN RETURN NEW; END IF; "
    "RAISE EXCEPTION 'events are append-only'; "
    "END $$",
    "CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only_or_purge()",
)
_POSTGRES_OLD_TRIGGERS = (
    "CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$",
    "CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
)


# -- a frozen copy of the version-1 canonical form (aupguard.records.canonical) ----------------
# Migrations must not import code that may change later; tests check both give equal hashes.


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _timestamp(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _event_hash(row: Any, seq: int, prev_hash: str, payload_hash: str) -> str:
    header = {
        "v": 1,
        "seq": seq,
        "prev_hash": prev_hash,
        "at": _timestamp(row.at),
        "kind": row.kind,
        "actor": row.actor,
        "account_id": row.account_id,
        "org_id": row.org_id,
        "subject": row.subject,
        "payload_hash": payload_hash,
    }
    return hashlib.sha256(_canonical(header)).hexdigest()


def _drop_triggers(dialect: str, *, function: str) -> None:
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_no_update ON events")
        op.execute(f"DROP FUNCTION IF EXISTS {function}()")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("events", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("events", sa.Column("payload_hash", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index(op.f("ix_events_seq"), "events", ["seq"], unique=True)
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_audit_checkpoints_seq"), "audit_checkpoints", ["seq"], unique=False)

    # chain what is already there (the old triggers would refuse the UPDATE)
    _drop_triggers(dialect, function="events_append_only")
    events = sa.table(
        "events",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime()),
        sa.column("kind", sa.String()),
        sa.column("actor", sa.String()),
        sa.column("account_id", sa.String()),
        sa.column("org_id", sa.String()),
        sa.column("subject", sa.String()),
        sa.column("data", sa.JSON()),
        sa.column("seq", sa.Integer()),
        sa.column("payload_hash", sa.String()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    seq, prev_hash = 0, GENESIS_HASH
    rows = bind.execute(sa.select(events).order_by(events.c.id)).fetchall()
    for row in rows:
        seq += 1
        payload_hash = hashlib.sha256(_canonical(row.data or {})).hexdigest()
        own = _event_hash(row, seq, prev_hash, payload_hash)
        bind.execute(
            events.update()
            .where(events.c.id == row.id)
            .values(seq=seq, payload_hash=payload_hash, prev_hash=prev_hash, hash=own)
        )
        prev_hash = own
    head = sa.table(
        "audit_chain_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("hash", sa.String()),
    )
    bind.execute(head.insert().values(id=1, seq=seq, hash=prev_hash))
    for statement in _SQLITE_TRIGGERS if dialect == "sqlite" else _POSTGRES_TRIGGERS:
        if dialect in ("sqlite", "postgresql"):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    _drop_triggers(dialect, function="events_append_only_or_purge")
    op.drop_index(op.f("ix_audit_checkpoints_seq"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chain_head")
    op.drop_index(op.f("ix_events_seq"), table_name="events")
    if dialect == "sqlite":
        # SQLite drops columns by rebuilding the table; the triggers are recreated below
        with op.batch_alter_table("events") as batch:
            for column in ("hash", "prev_hash", "payload_hash", "seq"):
                batch.drop_column(column)
    else:
        for column in ("hash", "prev_hash", "payload_hash", "seq"):
            op.drop_column("events", column)
    for statement in _SQLITE_OLD_TRIGGERS if dialect == "sqlite" else _POSTGRES_OLD_TRIGGERS:
        if dialect in ("sqlite", "postgresql"):
            op.execute(statement)
