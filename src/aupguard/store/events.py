"""The append-only event history. Every enforcement step, key change and credit booking is
an event; the database refuses UPDATE and DELETE on the table (triggers in the migration)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aupguard.store.records import Event
from aupguard.store.schema import EventRow

if TYPE_CHECKING:
    from aupguard.store.db import Store


class EventLog:
    def __init__(self, store: Store):
        self._store = store

    def append(
        self,
        session: Session,
        kind: str,
        *,
        actor: str,
        account_id: str | None = None,
        org_id: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> EventRow:
        """Add an event inside the caller's transaction (so the event and the change it
        records commit together or not at all)."""
        row = EventRow(
            at=at or self._store.now(),
            kind=kind,
            actor=actor,
            account_id=account_id,
            org_id=org_id,
            subject=subject,
            data=data or {},
        )
        session.add(row)
        session.flush()
        return row

    def query(
        self,
        *,
        account_id: str | None = None,
        kind_prefix: str | None = None,
        after_id: int = 0,
        limit: int = 1000,
    ) -> list[Event]:
        query = select(EventRow).where(EventRow.id > after_id)
        if account_id is not None:
            query = query.where(EventRow.account_id == account_id)
        if kind_prefix is not None:
            query = query.where(EventRow.kind.startswith(kind_prefix))
        query = query.order_by(EventRow.id).limit(limit)
        with self._store.session() as session:
            return [Event.model_validate(r) for r in session.scalars(query)]
