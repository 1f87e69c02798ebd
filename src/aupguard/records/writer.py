"""Group commit for the audit log: many threads append, one thread writes.

``AuditLog.append`` costs one transaction (and, on SQLite with ``synchronous=FULL``, one
fsync) per event. ``AuditWriter`` lets any number of threads keep calling ``append`` one
event at a time while a single background thread writes whatever has queued up meanwhile
with ``AuditLog.append_many`` — one lock of the chain head and one commit per batch. A caller
gets its event back only after the batch that holds it has committed, so nothing is
acknowledged that is not durable; the chain is the same as with ``AuditLog.append``.

    with AuditWriter(audit) as writer:        # e.g. for the lifetime of a service
        writer.append(AuditKind.VERDICT_ACTIONED, actor="system", data={...})

Several processes may each run a writer on the same database: their batches interleave
under the chain-head lock and still form one chain.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from concurrent.futures import Future
from typing import Any

from pydantic import ValidationError

from aupguard.records.audit import AuditKind, AuditLog
from aupguard.store.events import checked_payload
from aupguard.store.records import Event, NewEvent

DEFAULT_MAX_BATCH = 500

_Item = tuple[NewEvent, "Future[Event]"]


class AuditWriter:
    """Batches concurrent ``append`` calls into ``AuditLog.append_many`` transactions.

    ``max_batch`` caps the events in one transaction; ``max_wait`` (seconds, default 0) is how
    long the writer waits for each further event before writing a batch — 0 takes only what has
    queued up while the previous batch was being written, which adds no latency to a lone
    caller. Close it (or use it as a context manager): queued events are written first."""

    def __init__(
        self, audit: AuditLog, *, max_batch: int = DEFAULT_MAX_BATCH, max_wait: float = 0.0
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if max_wait < 0:
            raise ValueError("max_wait must not be negative")
        self.audit = audit
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.batches = 0  # transactions written (for tests and benchmarks)
        self._queue: queue.Queue[_Item | None] = queue.Queue()
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="aupguard-audit-writer", daemon=True)
        self._thread.start()

    def submit(
        self,
        kind: AuditKind | str,
        *,
        actor: str,
        account_id: str | None = None,
        org_id: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        at: dt.datetime | None = None,
    ) -> Future[Event]:
        """Queue one event; the future gives the chained event once it has committed (or
        the database error that failed its batch). Bad input raises ``ValueError`` here, in
        the caller, so it never fails anybody else's batch."""
        try:
            event = NewEvent(
                kind=str(kind),
                actor=actor,
                account_id=account_id,
                org_id=org_id,
                subject=subject,
                data=checked_payload(data),
                at=at,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "event"
            raise ValueError(f"audit event {field}: {first['msg']}") from None
        future: Future[Event] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            self._queue.put((event, future))
        return future

    def append(
        self,
        kind: AuditKind | str,
        *,
        actor: str,
        account_id: str | None = None,
        org_id: str | None = None,
        subject: str | None = None,
        data: dict[str, Any] | None = None,
        at: dt.datetime | None = None,
        timeout: float | None = None,
    ) -> Event:
        """Like ``AuditLog.append``: returns the event once it has committed."""
        future = self.submit(
            kind,
            actor=actor,
            account_id=account_id,
            org_id=org_id,
            subject=subject,
            data=data,
            at=at,
        )
        return future.result(timeout=timeout)

    def close(self) -> None:
        """Write what is queued, then stop the background thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()

    def __enter__(self) -> AuditWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = (
                        self._queue.get(timeout=self.max_wait)
                        if self.max_wait
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        try:
            written = self.audit.append_many([event for event, _ in batch])
        except BaseException as exc:  # every caller of the batch learns why
            for _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        for (_, future), event in zip(batch, written, strict=True):
            future.set_result(event)
