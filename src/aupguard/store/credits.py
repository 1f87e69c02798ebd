"""The credit ledger. Every grant, spend, refund, forfeiture and restoration is a row; the
balance is the sum of an account's rows. Each row names its counterparty (the other side of
the double entry), so the operator's books balance against the accounts'.

Spending checks the balance and books in one transaction holding the account's row lock
(PostgreSQL ``SELECT … FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``), so concurrent spends can
never take an account below zero.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aupguard.store.accounts import SYSTEM, get_row
from aupguard.store.errors import InsufficientCreditsError, LedgerError
from aupguard.store.records import LedgerEntry, LedgerKind
from aupguard.store.schema import AccountRow, LedgerRow

if TYPE_CHECKING:
    from aupguard.store.db import Store

GRANTS = "operator:grants"
REVENUE = "operator:revenue"
FORFEITED = "operator:forfeited"
MAX_AMOUNT = 10**12


def _positive(amount: int, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise LedgerError(f"{what} must be a whole number of credits, got {amount!r}")
    if amount <= 0:
        raise LedgerError(f"{what} must be positive, got {amount}")
    if amount > MAX_AMOUNT:
        raise LedgerError(f"{what} of {amount} is above the limit of {MAX_AMOUNT}")
    return amount


class CreditLedger:
    def __init__(self, store: Store):
        self._store = store

    def _lock_account(self, s: Session, account_id: str) -> AccountRow:
        row = s.scalar(select(AccountRow).where(AccountRow.id == account_id).with_for_update())
        if row is None:
            get_row(s, AccountRow, account_id, "account")  # raises NotFoundError
        assert row is not None
        return row

    @staticmethod
    def _balance(s: Session, account_id: str) -> int:
        total = s.scalar(
            select(func.coalesce(func.sum(LedgerRow.amount), 0)).where(
                LedgerRow.account_id == account_id
            )
        )
        return int(total or 0)

    def _existing(self, s: Session, idempotency_key: str | None) -> LedgerRow | None:
        if idempotency_key is None:
            return None
        return s.scalar(select(LedgerRow).where(LedgerRow.idempotency_key == idempotency_key))

    def _book(
        self,
        s: Session,
        account: AccountRow,
        kind: LedgerKind,
        amount: int,
        counterparty: str,
        *,
        actor: str,
        operation: str | None = None,
        reference: str | None = None,
        refund_of: int | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> LedgerEntry:
        row = LedgerRow(
            account_id=account.id,
            kind=kind.value,
            amount=amount,
            counterparty=counterparty,
            operation=operation,
            reference=reference,
            refund_of=refund_of,
            idempotency_key=idempotency_key,
            reason=reason,
            created_at=self._store.now(),
        )
        s.add(row)
        s.flush()
        self._store.events.append(
            s,
            f"credits.{kind.value}",
            actor=actor,
            account_id=account.id,
            org_id=account.org_id,
            subject=str(row.id),
            data={
                "amount": amount,
                "counterparty": counterparty,
                "operation": operation,
                "reference": reference,
                "reason": reason,
            },
        )
        return LedgerEntry.model_validate(row)

    def balance(self, account_id: str) -> int:
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            return self._balance(s, account_id)

    def entries(self, account_id: str, *, limit: int = 1000) -> list[LedgerEntry]:
        with self._store.session() as s:
            get_row(s, AccountRow, account_id, "account")
            rows = s.scalars(
                select(LedgerRow)
                .where(LedgerRow.account_id == account_id)
                .order_by(LedgerRow.id)
                .limit(limit)
            )
            return [LedgerEntry.model_validate(r) for r in rows]

    def grant(
        self,
        account_id: str,
        amount: int,
        *,
        reason: str = "",
        idempotency_key: str | None = None,
        actor: str = SYSTEM,
    ) -> LedgerEntry:
        _positive(amount, "a grant")
        with self._store.session(write=True) as s:
            if (done := self._existing(s, idempotency_key)) is not None:
                return LedgerEntry.model_validate(done)
            account = self._lock_account(s, account_id)
            return self._book(
                s,
                account,
                LedgerKind.GRANT,
                amount,
                GRANTS,
                actor=actor,
                reason=reason or None,
                idempotency_key=idempotency_key,
            )

    def spend(
        self,
        account_id: str,
        amount: int,
        *,
        operation: str,
        reference: str | None = None,
        idempotency_key: str | None = None,
        actor: str = SYSTEM,
    ) -> LedgerEntry:
        """Take ``amount`` credits, or raise ``InsufficientCreditsError`` and book nothing.
        A repeated ``idempotency_key`` returns the first booking instead of charging twice."""
        _positive(amount, "a charge")
        with self._store.session(write=True) as s:
            if (done := self._existing(s, idempotency_key)) is not None:
                return LedgerEntry.model_validate(done)
            account = self._lock_account(s, account_id)
            balance = self._balance(s, account_id)
            if balance < amount:
                raise InsufficientCreditsError(account_id, balance, amount)
            return self._book(
                s,
                account,
                LedgerKind.SPEND,
                -amount,
                REVENUE,
                actor=actor,
                operation=operation,
                reference=reference,
                idempotency_key=idempotency_key,
            )

    def refund(
        self,
        entry_id: int,
        amount: int | None = None,
        *,
        reason: str = "",
        actor: str = SYSTEM,
    ) -> LedgerEntry:
        """Give back all or part of a spend (never more than was spent, in total)."""
        with self._store.session(write=True) as s:
            spent = get_row(s, LedgerRow, entry_id, "ledger entry")
            if spent.kind != LedgerKind.SPEND.value:
                raise LedgerError(f"ledger entry {entry_id} is a {spent.kind}; only spends refund")
            account = self._lock_account(s, spent.account_id)
            already = -int(
                s.scalar(
                    select(func.coalesce(func.sum(LedgerRow.amount), 0)).where(
                        LedgerRow.refund_of == entry_id
                    )
                )
                or 0
            )
            left = -spent.amount + already
            amount = left if amount is None else _positive(amount, "a refund")
            if amount <= 0 or amount > left:
                raise LedgerError(
                    f"ledger entry {entry_id} spent {-spent.amount} credits and "
                    f"{-already} were refunded; {amount} more cannot be refunded"
                )
            return self._book(
                s,
                account,
                LedgerKind.REFUND,
                amount,
                REVENUE,
                actor=actor,
                operation=spent.operation,
                reference=spent.reference,
                refund_of=entry_id,
                reason=reason or None,
            )

    def forfeit(self, account_id: str, *, reason: str, actor: str = SYSTEM) -> LedgerEntry | None:
        """Forfeit the whole remaining balance without refund (None if there is nothing)."""
        with self._store.session(write=True) as s:
            account = self._lock_account(s, account_id)
            balance = self._balance(s, account_id)
            if balance <= 0:
                return None
            return self._book(
                s,
                account,
                LedgerKind.FORFEITURE,
                -balance,
                FORFEITED,
                actor=actor,
                reason=reason,
            )

    def restore(self, forfeiture_id: int, *, reason: str, actor: str = SYSTEM) -> LedgerEntry:
        """Undo a forfeiture (a reversed enforcement step) with a compensating entry."""
        with self._store.session(write=True) as s:
            row = get_row(s, LedgerRow, forfeiture_id, "ledger entry")
            if row.kind != LedgerKind.FORFEITURE.value:
                raise LedgerError(f"ledger entry {forfeiture_id} is not a forfeiture")
            done = s.scalar(select(LedgerRow).where(LedgerRow.refund_of == forfeiture_id))
            if done is not None:
                raise LedgerError(f"forfeiture {forfeiture_id} was already restored")
            account = self._lock_account(s, row.account_id)
            return self._book(
                s,
                account,
                LedgerKind.RESTORE,
                -row.amount,
                FORFEITED,
                actor=actor,
                refund_of=forfeiture_id,
                reason=reason,
            )

    def operator_totals(self) -> dict[str, int]:
        """Sum per counterparty from the operator's side (the other half of the entries)."""
        with self._store.session() as s:
            rows = s.execute(
                select(LedgerRow.counterparty, func.sum(LedgerRow.amount)).group_by(
                    LedgerRow.counterparty
                )
            )
            return {name: -int(total or 0) for name, total in rows}
