"""Retention: per-record-type periods and a purge that keeps the chain verifiable.

``AUPGUARD_RETENTION`` lists ``KIND_PREFIX=DAYS`` pairs, comma-separated, e.g.
``verdict.=30,report.=365,review.=365``: an event whose kind starts with the prefix has its
payload purged ``DAYS`` after it was written. The purge replaces ``data`` with
``{"_purged": true, "purged_at": …}`` and keeps the event's ``payload_hash`` and ``hash``,
so the chain still verifies; the database triggers allow no other change. The purge itself is
recorded as a ``records.purged`` event. Enforcement, vault, account and key events, and the
purge records, are never purged (they are the account's history); vault items follow their
own legal hold (``EvidenceVault``), which the purge job applies too.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, update

from aupguard.records.audit import AuditKind
from aupguard.records.errors import RetentionError
from aupguard.store import Store, chain
from aupguard.store.schema import EventRow

RETENTION_ENV = "AUPGUARD_RETENTION"
PROTECTED_PREFIXES = ("enforcement.", "vault.", "account.", "key.", "org.", "plan.", "records.")


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    days: dict[str, int]  # kind prefix -> days

    @classmethod
    def parse(cls, text: str) -> RetentionPolicy:
        days: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            prefix, sep, value = part.partition("=")
            prefix = prefix.strip()
            if not sep or not prefix or not value.strip().isdigit() or int(value) < 1:
                raise RetentionError(
                    f"{RETENTION_ENV}: {part!r} is not KIND_PREFIX=DAYS (e.g. verdict.=30)"
                )
            if any(prefix.startswith(p) or p.startswith(prefix) for p in PROTECTED_PREFIXES):
                raise RetentionError(
                    f"{RETENTION_ENV}: {prefix!r} would purge protected records "
                    f"({', '.join(PROTECTED_PREFIXES)})"
                )
            days[prefix] = int(value)
        return cls(days=days)

    @classmethod
    def from_env(cls) -> RetentionPolicy:
        return cls.parse(os.environ.get(RETENTION_ENV, ""))


class PurgeResult(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purged_events: int
    by_kind: dict[str, int]
    vault_items: list[str]


def purge_expired(store: Store, policy: RetentionPolicy, *, actor: str = "system") -> PurgeResult:
    """Purge the payloads of events past their retention period and vault items past
    their legal hold; record what was done (an event) and return it."""
    now = store.now()
    table = EventRow.__table__
    done: Counter[str] = Counter()
    seqs: list[int] = []
    with store.session(write=True) as session:
        for prefix, days in sorted(policy.days.items()):
            rows = session.execute(
                select(table.c.id, table.c.seq, table.c.kind, table.c.data).where(
                    table.c.kind.startswith(prefix),
                    table.c.at < now - dt.timedelta(days=days),
                    table.c.hash.is_not(None),
                )
            ).fetchall()
            for row in rows:
                if chain.is_purged(row.data or {}):
                    continue
                session.execute(
                    update(EventRow)
                    .where(EventRow.id == row.id)
                    .values(
                        data={
                            chain.PURGED_MARKER: True,
                            "purged_at": chain.format_timestamp(now),
                        }
                    )
                )
                done[row.kind] += 1
                seqs.append(row.seq)
        if seqs:
            store.events.append(
                session,
                AuditKind.RECORDS_PURGED.value,
                actor=actor,
                data={"count": len(seqs), "by_kind": dict(done), "seqs": sorted(seqs)},
            )
    vault = store.vault.purge_expired(actor=actor)
    return PurgeResult(purged_events=len(seqs), by_kind=dict(done), vault_items=vault)
