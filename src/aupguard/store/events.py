"""The append-only event history. Every enforcement step, key change and credit booking is
an event; the database refuses UPDATE and DELETE on the table (triggers in the migration).

Events form a hash chain (``aupguard.store.chain``): ``append`` locks the one-row chain head
(``SELECT … FOR UPDATE`` on PostgreSQL; the write lock on SQLite), so concurrent writers give
one order, each event carrying the previous event's hash. A lock is held until the caller's
transaction ends, which serialises event writers; keep transactions that append short.
``append_many`` chains a whole batch under one lock and one commit: the way to write many
events fast (see ``benchmarks/audit_speed.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from aupguard.store import chain
from aupguard.store.errors import StoreError
from aupguard.store.records import Event, NewEvent
from aupguard.store.schema import AuditChainHeadRow, EventRow

_HEAD = AuditChainHeadRow

if TYPE_CHECKING:
    from aupguard.store.db import Store


def checked_payload(data: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` as it will be stored; ``ValueError`` for NaN, non-JSON or the reserved key."""
    payload = chain.normalise_payload(data)
    if chain.PURGED_MARKER in payload:
        raise ValueError(f"the key {chain.PURGED_MARKER!r} is reserved for purged payloads")
    return payload


def _chained(
    *,
    seq: int,
    prev_hash: str,
    at: dt.datetime,
    kind: str,
    actor: str,
    account_id: str | None,
    org_id: str | None,
    subject: str | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The column values of the event at ``seq`` that follows the event hashed ``prev_hash``."""
    digest = chain.payload_hash(data)
    own = chain.header_hash(
        chain.event_header(
            seq=seq,
            prev_hash=prev_hash,
            at=at,
            kind=kind,
            actor=actor,
            account_id=account_id,
            org_id=org_id,
            subject=subject,
            payload_hash=digest,
        )
    )
    return {
        "at": at,
        "kind": kind,
        "actor": actor,
        "account_id": account_id,
        "org_id": org_id,
        "subject": subject,
        "data": data,
        "seq": seq,
        "payload_hash": digest,
        "prev_hash": prev_hash,
        "hash": own,
    }


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
        payload = checked_payload(data)
        when = at or self._store.now()
        prev_seq, prev_hash = self._lock_head(session)
        row = EventRow(
            **_chained(
                seq=prev_seq + 1,
                prev_hash=prev_hash,
                at=when,
                kind=kind,
                actor=actor,
                account_id=account_id,
                org_id=org_id,
                subject=subject,
                data=payload,
            )
        )
        session.add(row)
        session.flush()
        session.execute(update(_HEAD).where(_HEAD.id == 1).values(seq=row.seq, hash=row.hash))
        return row

    def append_many(self, session: Session, events: Sequence[NewEvent]) -> list[EventRow]:
        """Add several events inside the caller's transaction, in the order given: the chain
        head is locked once, every event is chained to the one before it and all are written
        in one multi-row INSERT, so a batch costs about one transaction, not one per event.
        Every payload is checked before the lock is taken; a bad one raises ``ValueError``
        naming its index and nothing is written. Returns the rows (with ``id`` and ``seq``)."""
        if not events:
            return []
        payloads: list[dict[str, Any]] = []
        for index, new in enumerate(events):
            if not isinstance(new, NewEvent):
                raise TypeError(f"event {index}: expected a NewEvent, got {type(new).__name__}")
            try:
                payloads.append(checked_payload(new.data))
            except ValueError as exc:
                raise ValueError(f"event {index} ({new.kind}): {exc}") from None
        now = self._store.now()
        prev_seq, prev_hash = self._lock_head(session)
        values: list[dict[str, Any]] = []
        for offset, (new, payload) in enumerate(zip(events, payloads, strict=True)):
            values.append(
                _chained(
                    seq=prev_seq + 1 + offset,
                    prev_hash=prev_hash,
                    at=new.at or now,
                    kind=new.kind,
                    actor=new.actor,
                    account_id=new.account_id,
                    org_id=new.org_id,
                    subject=new.subject,
                    data=payload,
                )
            )
            prev_hash = values[-1]["hash"]
        rows = list(
            session.scalars(
                insert(EventRow).returning(EventRow, sort_by_parameter_order=True), values
            )
        )
        last = values[-1]
        session.execute(
            update(_HEAD).where(_HEAD.id == 1).values(seq=last["seq"], hash=last["hash"])
        )
        return rows

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
