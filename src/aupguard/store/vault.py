"""Rows of the evidence vault: ciphertext and metadata, and the access log. Encryption lives
in ``aupguard.enforcement.vault``; this layer never sees plaintext."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import select

from aupguard.store.accounts import get_row
from aupguard.store.errors import StoreError
from aupguard.store.ids import new_id
from aupguard.store.records import VaultAccess, VaultItem
from aupguard.store.schema import VaultAccessRow, VaultItemRow

if TYPE_CHECKING:
    from aupguard.store.db import Store


class VaultRepository:
    def __init__(self, store: Store):
        self._store = store

    def put(
        self,
        *,
        ciphertext: bytes,
        sha256: str,
        content_type: str,
        key_id: str,
        category: str,
        account_id: str | None,
        retain_for: dt.timedelta,
        actor: str,
        purpose: str,
    ) -> VaultItem:
        now = self._store.now()
        with self._store.session(write=True) as s:
            row = VaultItemRow(
                id=new_id("vault"),
                account_id=account_id,
                sha256=sha256,
                content_type=content_type,
                ciphertext=ciphertext,
                key_id=key_id,
                category=category,
                created_at=now,
                retain_until=now + retain_for,
                report_path=None,
            )
            s.add(row)
            s.flush()
            s.add(
                VaultAccessRow(item_id=row.id, actor=actor, action="store", purpose=purpose, at=now)
            )
            self._store.events.append(
                s,
                "vault.stored",
                actor=actor,
                account_id=account_id,
                subject=row.id,
                data={
                    "sha256": sha256,
                    "category": category,
                    "retain_until": row.retain_until.isoformat(),
                },
            )
            return VaultItem.model_validate(row)

    def set_report_path(self, item_id: str, path: str) -> None:
        with self._store.session(write=True) as s:
            get_row(s, VaultItemRow, item_id, "vault item").report_path = path

    def item(self, item_id: str) -> VaultItem:
        with self._store.session() as s:
            return VaultItem.model_validate(get_row(s, VaultItemRow, item_id, "vault item"))

    def items(self, *, account_id: str | None = None) -> list[VaultItem]:
        query = select(VaultItemRow).order_by(VaultItemRow.created_at)
        if account_id is not None:
            query = query.where(VaultItemRow.account_id == account_id)
        with self._store.session() as s:
            return [VaultItem.model_validate(r) for r in s.scalars(query)]

    def ciphertext(self, item_id: str, *, actor: str, action: str, purpose: str) -> bytes:
        """The encrypted content; every call is written to the access log first."""
        if not actor.strip() or not purpose.strip():
            raise StoreError("vault access needs an actor and a purpose (it is logged)")
        with self._store.session(write=True) as s:
            row = get_row(s, VaultItemRow, item_id, "vault item")
            s.add(
                VaultAccessRow(
                    item_id=item_id,
                    actor=actor,
                    action=action,
                    purpose=purpose,
                    at=self._store.now(),
                )
            )
            self._store.events.append(
                s,
                f"vault.{action}",
                actor=actor,
                account_id=row.account_id,
                subject=item_id,
                data={"purpose": purpose},
            )
            return row.ciphertext

    def access_log(self, item_id: str) -> list[VaultAccess]:
        with self._store.session() as s:
            rows = s.scalars(
                select(VaultAccessRow)
                .where(VaultAccessRow.item_id == item_id)
                .order_by(VaultAccessRow.id)
            )
            return [VaultAccess.model_validate(r) for r in rows]

    def purge_expired(self, *, actor: str) -> list[str]:
        """Delete items whose retention hold has ended; items under hold are never touched."""
        now = self._store.now()
        with self._store.session(write=True) as s:
            rows = list(s.scalars(select(VaultItemRow).where(VaultItemRow.retain_until <= now)))
            for row in rows:
                for access in s.scalars(
                    select(VaultAccessRow).where(VaultAccessRow.item_id == row.id)
                ):
                    s.delete(access)
                s.delete(row)
                self._store.events.append(
                    s,
                    "vault.purged",
                    actor=actor,
                    account_id=row.account_id,
                    subject=row.id,
                    data={"sha256": row.sha256},
                )
            return [r.id for r in rows]
