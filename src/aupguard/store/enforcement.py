"""Stored enforcement state: strikes and carried-out actions. An account's standing (banned,
suspended until…) is derived from the actions in force, never kept as a flag."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from aupguard.store.accounts import SYSTEM, get_row
from aupguard.store.errors import StoreError
from aupguard.store.ids import new_id
from aupguard.store.records import RecordedAction, Strike
from aupguard.store.schema import AccountRow, EnforcementActionRow, StrikeRow

if TYPE_CHECKING:
    from aupguard.store.db import Store


class EnforcementRepository:
    def __init__(self, store: Store):
        self._store = store

    def add_strike(
        self,
        account_id: str,
        *,
        pack_id: str,
        pack_version: str,
        clause_id: str,
        category: str,
        weight: int,
        expires_after: dt.timedelta,
        reference: str | None = None,
        actor: str = SYSTEM,
    ) -> Strike:
        if weight <= 0:
            raise StoreError(f"a strike needs a positive weight, got {weight}")
        now = self._store.now()
        with self._store.session(write=True) as s:
            account = get_row(s, AccountRow, account_id, "account")
            row = StrikeRow(
                account_id=account_id,
                pack_id=pack_id,
                pack_version=pack_version,
                clause_id=clause_id,
                category=category,
                weight=weight,
                reference=reference,
                created_at=now,
                expires_at=now + expires_after,
                reversed_at=None,
                reversed_by=None,
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                "enforcement.strike",
                actor=actor,
                account_id=account_id,
                org_id=account.org_id,
                subject=str(row.id),
                data={
                    "clause": f"{pack_id}@{pack_version} §{clause_id}",
                    "category": category,
                    "weight": weight,
                    "expires_at": row.expires_at.isoformat(),
                    "reference": reference,
                },
            )
            return Strike.model_validate(row)

    def strikes(self, account_id: str, *, active_only: bool = False) -> list[Strike]:
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            rows = s.scalars(
                select(StrikeRow).where(StrikeRow.account_id == account_id).order_by(StrikeRow.id)
            )
            strikes = [Strike.model_validate(r) for r in rows]
        now = self._store.now()
        return [x for x in strikes if x.active(now)] if active_only else strikes

    def reverse_strike(self, strike_id: int, *, actor: str, reason: str) -> Strike:
        with self._store.session(write=True) as s:
            row = get_row(s, StrikeRow, strike_id, "strike")
            if row.reversed_at is not None:
                raise StoreError(f"strike {strike_id} was already reversed")
            row.reversed_at = self._store.now()
            row.reversed_by = actor
            account = get_row(s, AccountRow, row.account_id, "account")
            self._store.events.append(
                s,
                "enforcement.strike_reversed",
                actor=actor,
                account_id=row.account_id,
                org_id=account.org_id,
                subject=str(strike_id),
                data={"reason": reason},
            )
            return Strike.model_validate(row)

    def add_action(
        self,
        account_id: str,
        *,
        step: str,
        reason: str,
        step_id: str | None = None,
        pack_id: str | None = None,
        pack_version: str | None = None,
        clause_id: str | None = None,
        category: str | None = None,
        until: dt.datetime | None = None,
        ledger_entry_id: int | None = None,
        data: dict[str, object] | None = None,
        actor: str = SYSTEM,
    ) -> RecordedAction:
        now = self._store.now()
        with self._store.session(write=True) as s:
            account = get_row(s, AccountRow, account_id, "account")
            row = EnforcementActionRow(
                id=new_id("act"),
                account_id=account_id,
                step=step,
                step_id=step_id,
                pack_id=pack_id,
                pack_version=pack_version,
                clause_id=clause_id,
                category=category,
                reason=reason,
                created_at=now,
                until=until,
                ledger_entry_id=ledger_entry_id,
                reversed_at=None,
                reversed_by=None,
                reversal_reason=None,
            )
            s.add(row)
            s.flush()
            self._store.events.append(
                s,
                f"enforcement.{step}",
                actor=actor,
                account_id=account_id,
                org_id=account.org_id,
                subject=row.id,
                data={
                    "reason": reason,
                    "step_id": step_id,
                    "pack": pack_id,
                    "pack_version": pack_version,
                    "clause": clause_id,
                    "category": category,
                    "until": until.isoformat() if until else None,
                    "ledger_entry_id": ledger_entry_id,
                    **(data or {}),
                },
            )
            return RecordedAction.model_validate(row)

    def action(self, action_id: str) -> RecordedAction:
        with self._store.session() as s:
            return RecordedAction.model_validate(
                get_row(s, EnforcementActionRow, action_id, "enforcement action")
            )

    def actions(self, account_id: str) -> list[RecordedAction]:
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            rows = s.scalars(
                select(EnforcementActionRow)
                .where(EnforcementActionRow.account_id == account_id)
                .order_by(EnforcementActionRow.created_at, EnforcementActionRow.id)
            )
            return [RecordedAction.model_validate(r) for r in rows]

    def in_force(self, account_id: str) -> list[RecordedAction]:
        """Actions in force now (not reversed, not expired)."""
        now = self._store.now()
        return [a for a in self.actions(account_id) if a.in_force(now)]

    def reverse_action(self, action_id: str, *, actor: str, reason: str) -> RecordedAction:
        if not reason.strip():
            raise StoreError("a reversal needs a reason")
        with self._store.session(write=True) as s:
            row = get_row(s, EnforcementActionRow, action_id, "enforcement action")
            if row.reversed_at is not None:
                raise StoreError(f"enforcement action {action_id} was already reversed")
            row.reversed_at = self._store.now()
            row.reversed_by = actor
            row.reversal_reason = reason
            account = get_row(s, AccountRow, row.account_id, "account")
            self._store.events.append(
                s,
                "enforcement.reversed",
                actor=actor,
                account_id=row.account_id,
                org_id=account.org_id,
                subject=action_id,
                data={"step": row.step, "reason": reason},
            )
            return RecordedAction.model_validate(row)
