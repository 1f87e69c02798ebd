"""The append-only event history. Every enforcement step, key change and credit booking is
an event; the database refuses UPDATE and DELETE on the table (triggers in the migration).

Events form a hash chain (``aupguard.store.chain``): ``append`` locks the one-row chain head
(``SELECT … FOR UPDATE`` on PostgreSQL; the write lock on SQLite), so concurrent writers give
one order, each event carrying the previous event's hash. A lock is held until the caller's
transaction ends, which serialises event writers; keep transactions that append short."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aupguard.store import chain
from aupguard.store.errors import StoreError
from aupguard.store.records import Event
from aupguard.store.schema import AuditChainHeadRow, EventRow

_HEAD = AuditChainHeadRow

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
        records commit together or not at all). The event is chained: it takes the next
        ``seq`` and carries the hash of the event before it. ``data`` must be a JSON object
        (no NaN) and may not use the key ``_purged`` (kept for retention purges)."""
        payload = chain.normalise_payload(data)
        if chain.PURGED_MARKER in payload:
            raise ValueError(f"the key {chain.PURGED_MARKER!r} is reserved for purged payloads")
        when = at or self._store.now()
        prev_seq, prev_hash = self._lock_head(session)
        seq = prev_seq + 1
        digest = chain.payload_hash(payload)
        own = chain.header_hash(
            chain.event_header(
                seq=seq,
                prev_hash=prev_hash,
                at=when,
                kind=kind,
                actor=actor,
                account_id=account_id,
                org_id=org_id,
                subject=subject,
                payload_hash=digest,
            )
        )
        row = EventRow(
            at=when,
            kind=kind,
            actor=actor,
            account_id=account_id,
            org_id=org_id,
            subject=subject,
            data=payload,
            seq=seq,
            payload_hash=digest,
            prev_hash=prev_hash,
            hash=own,
        )
        session.add(row)
        session.flush()
        session.execute(update(_HEAD).where(_HEAD.id == 1).values(seq=seq, hash=own))
        return row

    def _lock_head(self, session: Session) -> tuple[int, str]:
        """Lock the chain head for the rest of the transaction; its ``(seq, hash)``."""
        query = select(_HEAD.seq, _HEAD.hash).where(_HEAD.id == 1)
        if session.get_bind().dialect.name == "sqlite":
            # a no-op UPDATE takes SQLite's write lock before the head is read
            session.execute(update(_HEAD).where(_HEAD.id == 1).values(seq=_HEAD.seq))
        else:
            query = query.with_for_update()
        head = session.execute(query).one_or_none()
        if head is None:
            raise StoreError("the audit chain head is missing; run the migrations (0002)")
        return int(head.seq), str(head.hash)

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
