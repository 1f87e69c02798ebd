"""The tamper-evident audit log over the store's ``events`` table.

Every event is chained by ``EventLog.append`` (``aupguard.store.chain``); this module adds
signed checkpoints, verification of the stored chain and of exported files, and export.

- ``AuditLog.append`` records one event in its own transaction (the kinds in ``AuditKind``
  are what the API, review and policy code record; enforcement steps are already written by
  the executor through the store).
- ``AuditLog.checkpoint`` verifies the chain since the last checkpoint and signs
  "the chain up to seq N ends in hash H" with the Ed25519 key.
- ``AuditLog.verify`` walks the whole chain and reports the first break.
- ``AuditLog.export`` writes JSONL (header, events, checkpoints) that ``verify_export``
  re-verifies with nothing but the public key.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, select
from sqlalchemy.engine import Row

from aupguard.records.errors import ChainBrokenError, ExportFormatError
from aupguard.records.signing import PublicKey, SigningKey
from aupguard.store import Store, chain
from aupguard.store.records import Event, NewEvent
from aupguard.store.schema import AuditChainHeadRow, AuditCheckpointRow, EventRow

EXPORT_FORMAT = "aupguard-audit-export"
CHECKPOINT_TYPE = "aupguard-audit-checkpoint"
DEFAULT_CHECKPOINT_EVERY = 1000
CHECKPOINT_EVERY_ENV = "AUPGUARD_AUDIT_CHECKPOINT_EVERY"
_BATCH = 5000


class AuditKind(StrEnum):
    """Event kinds recorded through ``AuditLog`` (the store writes ``enforcement.*``,
    ``account.*``, ``key.*``, ``credit.*`` and ``vault.*`` itself)."""

    VERDICT_ACTIONED = "verdict.actioned"  # a verdict that led to an action
    REVIEW_DECISION = "review.decision"  # a reviewer's decision on a queued item
    PACK_ACTIVATED = "pack.activated"  # a policy pack (version) put into force
    VAULT_ACCESSED = "vault.accessed"  # an access to the evidence vault outside the store
    REPORT_RECEIVED = "report.received"  # a user's report of content
    REPORT_RESOLVED = "report.resolved"  # how a user's report ended
    APPEAL_FILED = "appeal.filed"
    APPEAL_DECIDED = "appeal.decided"
    RECORDS_PURGED = "records.purged"  # a retention purge (written by the purge job)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChainedEvent(_Model):
    """One event as exported: everything its hash covers, plus the hashes."""

    type: Literal["event"] = "event"
    seq: int
    at: str
    kind: str
    actor: str
    account_id: str | None
    org_id: str | None
    subject: str | None
    data: dict[str, Any]
    payload_hash: str
    prev_hash: str
    hash: str


class Checkpoint(_Model):
    """A signed statement that the chain up to ``seq`` ends in ``hash``."""

    type: Literal["checkpoint"] = "checkpoint"
    seq: int
    hash: str
    at: str
    key_id: str
    signature: str

    def message(self) -> bytes:
        return checkpoint_message(self.seq, self.hash, self.at, self.key_id)


class ExportHeader(_Model):
    type: Literal["header"] = "header"
    format: Literal["aupguard-audit-export"] = "aupguard-audit-export"
    v: Literal[1] = 1
    since: str | None
    until: str | None
    first_seq: int | None
    last_seq: int | None
    events: int
    key_id: str


class ChainBreak(_Model):
    """Where the chain first fails to verify, and why."""

    seq: int
    event_id: int | None = None
    reason: str


class VerifyReport(_Model):
    ok: bool
    events: int
    checkpoints: int
    last_seq: int
    last_hash: str
    # events after the newest valid checkpoint: chained, but no signature vouches for them
    unsigned_tail: int
    purged: int
    first_break: ChainBreak | None = None


def checkpoint_message(seq: int, hash_: str, at: str, key_id: str) -> bytes:
    return chain.canonical_json(
        {"type": CHECKPOINT_TYPE, "v": 1, "seq": seq, "hash": hash_, "at": at, "key_id": key_id}
    )


class ChainWalker:
    """Checks events fed in chain order; remembers the first break.

    ``anchor`` is ``(seq, hash)`` of the event just before the first one fed: ``(0,
    GENESIS_HASH)`` for a whole chain, or the first exported event's own ``prev_hash``."""

    def __init__(self, anchor: tuple[int, str] = (0, chain.GENESIS_HASH)):
        self.last_seq, self.last_hash = anchor
        self.events = 0
        self.purged = 0
        self.first_break: ChainBreak | None = None
        self.hashes: dict[int, str] = {}  # only the seqs in ``watch`` are kept
        self.watch: set[int] = set()
        # purged payloads (seq -> event id) and the seqs that ``records.purged`` events list
        self.purged_seqs: dict[int, int | None] = {}
        self.listed_purges: set[int] = set()

    def feed(self, event: ChainedEvent, event_id: int | None = None) -> bool:
        """Check one event; False (and ``first_break`` set) at the first break."""
        if self.first_break is not None:
            return False
        expected = self.last_seq + 1
        reason = None
        if event.seq > expected:
            missing = (
                f"seq {expected}"
                if event.seq == expected + 1
                else f"seqs {expected}–{event.seq - 1}"
            )
            self.first_break = ChainBreak(
                seq=expected,
                event_id=event_id,
                reason=f"event {missing} missing (deleted?): the next event is seq {event.seq}",
            )
            return False
        if event.seq < expected:
            reason = f"out of order: seq {event.seq} where seq {expected} was expected"
        elif event.prev_hash != self.last_hash:
            reason = (
                f"prev_hash does not match the hash of event seq {self.last_seq}: an event was "
                "inserted, removed, reordered or rewritten here"
            )
        elif chain.is_purged(event.data):
            self.purged += 1
        elif chain.payload_hash(event.data) != event.payload_hash:
            reason = "its payload (data) was changed: it no longer matches payload_hash"
        if reason is None:
            try:
                header = chain.event_header(
                    seq=event.seq,
                    prev_hash=event.prev_hash,
                    at=chain.parse_timestamp(event.at),
                    kind=event.kind,
                    actor=event.actor,
                    account_id=event.account_id,
                    org_id=event.org_id,
                    subject=event.subject,
                    payload_hash=event.payload_hash,
                )
            except ValueError as exc:
                reason = f"malformed event: {exc}"
            else:
                if chain.header_hash(header) != event.hash:
                    reason = "its fields were changed: they no longer match its hash"
        if reason is not None:
            self.first_break = ChainBreak(seq=expected, event_id=event_id, reason=reason)
            return False
        self.last_seq, self.last_hash = event.seq, event.hash
        self.events += 1
        if chain.is_purged(event.data):
            self.purged_seqs[event.seq] = event_id
        elif event.kind == AuditKind.RECORDS_PURGED:
            self.listed_purges.update(purge_listing(event.seq, event.data))
        if event.seq in self.watch:
            self.hashes[event.seq] = event.hash
        return True

    def check_checkpoints(
        self, checkpoints: Iterable[Checkpoint], public_key: PublicKey | None
    ) -> tuple[int, int]:
        """Check signatures and hashes; the number of valid checkpoints and the newest seq
        they vouch for. A bad checkpoint before the first break becomes the first break."""
        valid, newest = 0, 0
        for cp in checkpoints:
            if self.first_break is not None and cp.seq >= self.first_break.seq:
                continue
            problem = None
            if public_key is None:
                problem = "no public key to check its signature (give --public-key)"
            elif cp.key_id != public_key.key_id:
                problem = f"signed by key id {cp.key_id}, not by the given key {public_key.key_id}"
            elif not public_key.verify(cp.signature, cp.message()):
                problem = "its signature does not verify with the public key"
            elif cp.seq > self.last_seq:
                problem = (
                    f"it covers seq {cp.seq} but the chain ends at seq {self.last_seq} "
                    "(events deleted at the end?)"
                )
            elif cp.seq in self.hashes and self.hashes[cp.seq] != cp.hash:
                problem = "the event at that seq no longer has the signed hash (chain rewritten)"
            elif cp.seq not in self.hashes:
                continue  # before the exported range: nothing to compare
            if problem is not None:
                brk = ChainBreak(seq=cp.seq, reason=f"checkpoint at seq {cp.seq}: {problem}")
                if self.first_break is None or brk.seq < self.first_break.seq:
                    self.first_break = brk
                continue
            valid += 1
            newest = max(newest, cp.seq)
        return valid, newest


def purge_listing(seq: int, data: dict[str, Any]) -> set[int]:
    """The seqs a ``records.purged`` event at ``seq`` lists as purged (only earlier events
    count: a purge records itself after what it purged)."""
    listed = data.get("seqs")
    if not isinstance(listed, list):
        return set()
    return {s for s in listed if isinstance(s, int) and not isinstance(s, bool) and 0 < s < seq}


def _row_event(row: Row[Any]) -> ChainedEvent:
    return ChainedEvent(
        seq=row.seq,
        at=chain.format_timestamp(row.at),
        kind=row.kind,
        actor=row.actor,
        account_id=row.account_id,
        org_id=row.org_id,
        subject=row.subject,
        data=row.data,
        payload_hash=row.payload_hash,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def _row_checkpoint(row: AuditCheckpointRow) -> Checkpoint:
    return Checkpoint(
        seq=row.seq,
        hash=row.hash,
        at=chain.format_timestamp(row.at),
        key_id=row.key_id,
        signature=row.signature,
    )


class AuditLog:
    """The audit log of one store. ``signing_key`` is needed to make checkpoints and exports;
    ``public_key`` (default: the signing key's) to verify them."""

    def __init__(
        self,
        store: Store,
        *,
        signing_key: SigningKey | None = None,
        public_key: PublicKey | None = None,
        checkpoint_every: int = DEFAULT_CHECKPOINT_EVERY,
    ):
        if checkpoint_every < 1:
            raise ValueError("checkpoint_every must be at least 1")
        self.store = store
        self.signing_key = signing_key
        self.public_key = public_key or (signing_key.public_key if signing_key else None)
        self.checkpoint_every = checkpoint_every
        self._known_checkpoint_seq = 0  # a lower bound of the newest checkpoint's seq

    # -- writing -------------------------------------------------------------------------

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
    ) -> Event:
        """Record one event in its own transaction and return it (chained). Never put raw
        content or personal data in ``data``: it is exported and kept. Makes a checkpoint
        when ``checkpoint_every`` events have passed since the last and a signing key is
        set."""
        if not actor.strip():
            raise ValueError("an audit event needs an actor")
        with self.store.session(write=True) as session:
            row = self.store.events.append(
                session,
                str(kind),
                actor=actor,
                account_id=account_id,
                org_id=org_id,
                subject=subject,
                data=data,
                at=at,
            )
            event = Event.model_validate(row)
        self.maybe_checkpoint(head_seq=event.seq)
        return event

    def append_many(self, events: Iterable[NewEvent]) -> list[Event]:
        """Record several events in one transaction, chained in the order given, and return
        them. The chain head is locked once for the batch, so this is the fast way to write
        many events (thousands a second where ``append`` manages a few hundred): the chain
        is exactly as if they had been appended one by one. All or nothing: a bad event
        (``ValueError`` naming its index) writes none. Checkpoints as ``append``."""
        batch = list(events)
        if not batch:
            return []
        with self.store.session(write=True) as session:
            rows = self.store.events.append_many(session, batch)
            written = [Event.model_validate(r) for r in rows]
        self.maybe_checkpoint(head_seq=written[-1].seq)
        return written

    def maybe_checkpoint(self, *, head_seq: int | None = None) -> Checkpoint | None:
        """A checkpoint if a signing key is set and ``checkpoint_every`` events have been
        appended since the newest one; else None. ``head_seq`` (the seq just written) saves
        reading the head; the newest checkpoint's seq is remembered between calls (it only
        grows, so a remembered value is a safe lower bound) and read again only when it
        says a checkpoint may be due."""
        if self.signing_key is None:
            return None
        if head_seq is None:
            head_seq, _ = self.head()
        if head_seq - self._known_checkpoint_seq < self.checkpoint_every:
            return None
        last = self.latest_checkpoint()
        self._known_checkpoint_seq = max(self._known_checkpoint_seq, last.seq if last else 0)
        if head_seq - self._known_checkpoint_seq < self.checkpoint_every:
            return None
        return self.checkpoint()

    def head(self) -> tuple[int, str]:
        with self.store.session() as session:
            row = session.get(AuditChainHeadRow, 1)
            if row is None:
                raise ChainBrokenError("the audit chain head is missing; run the migrations")
            return row.seq, row.hash

    def latest_checkpoint(self) -> Checkpoint | None:
        with self.store.session() as session:
            row = session.scalars(
                select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq.desc()).limit(1)
            ).first()
            return _row_checkpoint(row) if row else None

    def checkpoints(self) -> list[Checkpoint]:
        with self.store.session() as session:
            rows = session.scalars(select(AuditCheckpointRow).order_by(AuditCheckpointRow.seq))
            return [_row_checkpoint(r) for r in rows]

    def checkpoint(self, *, upto: int | None = None) -> Checkpoint:
        """Verify the chain and sign its state at ``upto`` (default: the head). Refuses
        (``ChainBrokenError``) if the chain does not verify up to there: a signature must
        never vouch for a rewritten history."""
        if self.signing_key is None:
            raise ChainBrokenError("no signing key: cannot make a checkpoint")
        report = self.verify(upto=upto)
        if report.first_break is not None:
            raise ChainBrokenError(
                f"not signing: the chain breaks at seq {report.first_break.seq}: "
                f"{report.first_break.reason}"
            )
        seq, hash_ = report.last_seq, report.last_hash
        at = chain.format_timestamp(self.store.now())
        key_id = self.signing_key.key_id
        signature = self.signing_key.sign(checkpoint_message(seq, hash_, at, key_id))
        with self.store.session(write=True) as session:
            session.add(
                AuditCheckpointRow(
                    seq=seq,
                    hash=hash_,
                    at=chain.parse_timestamp(at),
                    key_id=key_id,
                    signature=signature,
                )
            )
        self._known_checkpoint_seq = max(self._known_checkpoint_seq, seq)
        return Checkpoint(seq=seq, hash=hash_, at=at, key_id=key_id, signature=signature)

    # -- reading -------------------------------------------------------------------------

    def iter_events(
        self, *, first_seq: int = 1, last_seq: int | None = None
    ) -> Iterator[tuple[int, ChainedEvent]]:
        """``(event id, event)`` in chain order, read in batches."""
        cols = EventRow.__table__.c
        after = first_seq - 1
        while True:
            query = select(EventRow.__table__).where(cols.seq > after)
            if last_seq is not None:
                query = query.where(cols.seq <= last_seq)
            query = query.order_by(cols.seq).limit(_BATCH)
            with self.store.session() as session:
                rows = session.execute(query).fetchall()
            if not rows:
                return
            for row in rows:
                yield row.id, _row_event(row)
            after = rows[-1].seq

    def _unchained(self) -> int | None:
        """The id of the first event without a place in the chain, if any."""
        with self.store.session() as session:
            return session.scalar(
                select(func.min(EventRow.id)).where(
                    (EventRow.seq.is_(None)) | (EventRow.hash.is_(None))
                )
            )

    def verify(self, *, upto: int | None = None) -> VerifyReport:
        """Walk the chain (up to seq ``upto``) and check every link, every payload, every
        checkpoint signature and the chain head; report the first break."""
        checkpoints = self.checkpoints()
        walker = ChainWalker()
        walker.watch = {cp.seq for cp in checkpoints}
        for event_id, event in self.iter_events(last_seq=upto):
            if not walker.feed(event, event_id):
                break
        unchained = self._unchained()
        if unchained is not None and walker.first_break is None:
            walker.first_break = ChainBreak(
                seq=walker.last_seq + 1,
                event_id=unchained,
                reason=f"event id {unchained} is not in the chain (no seq or hash): "
                "written around the event log",
            )
        if walker.first_break is None and upto is None:
            head_seq, head_hash = self.head()
            if (head_seq, head_hash) != (walker.last_seq, walker.last_hash):
                walker.first_break = ChainBreak(
                    seq=min(head_seq, walker.last_seq + 1),
                    reason=f"the chain head says seq {head_seq} but the last event is seq "
                    f"{walker.last_seq} (events deleted at the end, or the head edited)",
                )
        if walker.first_break is None:
            walker.first_break = self._unlisted_purge(walker, upto)
        in_range = [cp for cp in checkpoints if upto is None or cp.seq <= upto]
        valid, newest = walker.check_checkpoints(in_range, self.public_key)
        return VerifyReport(
            ok=walker.first_break is None,
            events=walker.events,
            checkpoints=valid,
            last_seq=walker.last_seq,
            last_hash=walker.last_hash,
            unsigned_tail=max(0, walker.last_seq - newest),
            purged=walker.purged,
            first_break=walker.first_break,
        )

    def _unlisted_purge(self, walker: ChainWalker, upto: int | None) -> ChainBreak | None:
        """The first purged payload that no ``records.purged`` event lists. The purge job
        writes that event in the same transaction as the purge, so a payload purged without
        one was removed around it: tampering. (With ``upto``, listings after it count too.)"""
        listed = set(walker.listed_purges)
        if upto is not None and walker.purged_seqs:
            cols = EventRow.__table__.c
            with self.store.session() as session:
                later = session.execute(
                    select(cols.seq, cols.data).where(
                        cols.kind == AuditKind.RECORDS_PURGED.value, cols.seq > upto
                    )
                ).fetchall()
            for row in later:
                if isinstance(row.data, dict) and not chain.is_purged(row.data):
                    listed |= purge_listing(int(row.seq), row.data)
        unlisted = sorted(set(walker.purged_seqs) - listed)
        if not unlisted:
            return None
        more = f" (and {len(unlisted) - 1} more)" if len(unlisted) > 1 else ""
        return ChainBreak(
            seq=unlisted[0],
            event_id=walker.purged_seqs[unlisted[0]],
            reason=f"its payload was purged but no {AuditKind.RECORDS_PURGED.value} event lists "
            f"it{more}: purged outside the retention job (tampering)",
        )

    # -- export --------------------------------------------------------------------------

    def seq_range(
        self, since: dt.datetime | None, until: dt.datetime | None
    ) -> tuple[int, int] | None:
        """The contiguous run of the chain from the first event at or after ``since`` to
        the last event before ``until`` (by seq), or None if no event falls in the window."""
        cols = EventRow.__table__.c
        first = select(func.min(cols.seq))
        last = select(func.max(cols.seq))
        if since is not None:
            first = first.where(cols.at >= since)
            last = last.where(cols.at >= since)
        if until is not None:
            first = first.where(cols.at < until)
            last = last.where(cols.at < until)
        with self.store.session() as session:
            lo, hi = session.scalar(first), session.scalar(last)
        return None if lo is None or hi is None else (int(lo), int(hi))

    def export(
        self, out: IO[str], *, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> ExportHeader:
        """Write the events in the window as JSONL, with every checkpoint inside it and a
        fresh one at its last event (the chain is verified first; a broken chain is not
        exported). Lines are canonical JSON."""
        if self.signing_key is None:
            raise ChainBrokenError("exporting needs the signing key (to sign its last event)")
        span = self.seq_range(since, until)
        key_id = self.signing_key.key_id
        header = ExportHeader(
            since=chain.format_timestamp(since) if since else None,
            until=chain.format_timestamp(until) if until else None,
            first_seq=span[0] if span else None,
            last_seq=span[1] if span else None,
            events=(span[1] - span[0] + 1) if span else 0,
            key_id=key_id,
        )
        out.write(_line(header))
        if span is None:
            return header
        last = self.latest_checkpoint()
        final = last if last is not None and last.seq == span[1] else None
        if final is None or final.key_id != key_id:
            final = self.checkpoint(upto=span[1])
        for _, event in self.iter_events(first_seq=span[0], last_seq=span[1]):
            out.write(_line(event))
        for cp in self.checkpoints():
            if span[0] <= cp.seq <= span[1] and cp.key_id == key_id and cp != final:
                out.write(_line(cp))
        out.write(_line(final))
        return header


def _line(model: BaseModel) -> str:
    return chain.canonical_json(model.model_dump(mode="json")).decode("utf-8") + "\n"


def read_export(path: Path) -> tuple[ExportHeader, list[ChainedEvent], list[Checkpoint]]:
    """Parse an export; ``ExportFormatError`` names the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExportFormatError(f"cannot read {path}: {exc}") from None
    header: ExportHeader | None = None
    events: list[ChainedEvent] = []
    checkpoints: list[Checkpoint] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportFormatError(f"{where}: not JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise ExportFormatError(f"{where}: expected a JSON object")
        kind = obj.get("type")
        try:
            if number == 1 or header is None:
                if kind != "header":
                    raise ExportFormatError(
                        f"{where}: the first line must be the {EXPORT_FORMAT} header"
                    )
                header = ExportHeader.model_validate(obj)
            elif kind == "event":
                events.append(ChainedEvent.model_validate(obj))
            elif kind == "checkpoint":
                checkpoints.append(Checkpoint.model_validate(obj))
            else:
                raise ExportFormatError(f"{where}: unknown line type {kind!r}")
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(line)"
            raise ExportFormatError(f"{where}: {loc}: {first['msg']}") from None
    if header is None:
        raise ExportFormatError(f"{path}: empty file, not an {EXPORT_FORMAT}")
    return header, events, checkpoints


def verify_export(path: Path, public_key: PublicKey) -> VerifyReport:
    """Re-verify an exported file with only the public key. It verifies when its events
    link to each other and a checkpoint signed by ``public_key`` vouches for its last
    event (so for every event before it)."""
    header, events, checkpoints = read_export(path)
    anchor = (events[0].seq - 1, events[0].prev_hash) if events else (0, chain.GENESIS_HASH)
    if events and events[0].seq == 1 and events[0].prev_hash != chain.GENESIS_HASH:
        anchor = (0, chain.GENESIS_HASH)
    walker = ChainWalker(anchor)
    walker.watch = {cp.seq for cp in checkpoints}
    for event in events:
        if not walker.feed(event):
            break
    if walker.first_break is None and header.events != walker.events:
        walker.first_break = ChainBreak(
            seq=walker.last_seq + 1,
            reason=f"the header lists {header.events} events but the file holds {walker.events}",
        )
    valid, newest = walker.check_checkpoints(checkpoints, public_key)
    if walker.first_break is None and events and newest != walker.last_seq:
        walker.first_break = ChainBreak(
            seq=walker.last_seq,
            reason="no checkpoint signed by the given key vouches for the last event",
        )
    return VerifyReport(
        ok=walker.first_break is None,
        events=walker.events,
        checkpoints=valid,
        last_seq=walker.last_seq,
        last_hash=walker.last_hash,
        unsigned_tail=max(0, walker.last_seq - newest) if events else 0,
        purged=walker.purged,
        first_break=walker.first_break,
    )


def checkpoint_every_from_env() -> int:
    """``AUPGUARD_AUDIT_CHECKPOINT_EVERY`` (default 1000): sign a checkpoint after this many
    events (``AuditLog.append`` and ``maybe_checkpoint``)."""
    import os

    raw = os.environ.get(CHECKPOINT_EVERY_ENV, "").strip()
    if not raw:
        return DEFAULT_CHECKPOINT_EVERY
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{CHECKPOINT_EVERY_ENV} must be a positive whole number, got {raw!r}")
    return int(raw)
