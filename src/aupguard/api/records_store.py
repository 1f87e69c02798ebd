"""The service's records in the store's database (the store backend): the same contract as
``Records`` (``records.py``, a per-host SQLite file for the embedded backend), so decisions,
reports, appeals, uploaded packs and pack states are shared by every worker on every host."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from aupguard.api.records import RecordConflictError, StoreUnavailableError, new_id
from aupguard.api.records_models import (
    PackStateRow,
    ServiceAppealRow,
    ServiceCounterRow,
    ServiceDecisionRow,
    ServiceReportRow,
    ShadowResultRow,
    UploadedPackRow,
)
from aupguard.store import Store
from aupguard.store import StoreUnavailableError as StoreDown

PACKS_GENERATION = "packs_generation"


def _epoch(value: Any) -> float:
    return float(value.timestamp())


class StoreRecords:
    def __init__(self, store: Store):
        self.store = store

    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[Session]:
        try:
            with self.store.session(write=write) as session:
                yield session
        except IntegrityError as exc:
            raise RecordConflictError(str(exc.orig)) from exc
        except StoreDown as exc:
            raise StoreUnavailableError(str(exc)) from exc
        except SQLAlchemyError as exc:
            raise StoreUnavailableError(f"records store: {exc}") from exc

    def ping(self) -> None:
        try:
            self.store.ping()
        except StoreDown as exc:
            raise StoreUnavailableError(str(exc)) from exc

    def close(self) -> None:
        """The store belongs to the backend, which closes it."""

    # -- decisions -------------------------------------------------------------------------
    def add_decision(
        self,
        *,
        decision_id: str,
        account_id: str,
        org_id: str | None,
        kind: str,
        policy: str,
        action: str,
        modality: str,
        statement: dict[str, Any],
        generation_id: str | None = None,
    ) -> None:
        with self._tx(write=True) as s:
            s.add(
                ServiceDecisionRow(
                    id=decision_id,
                    created=self.store.now(),
                    account_id=account_id,
                    org_id=org_id,
                    kind=kind,
                    policy=policy,
                    action=action,
                    modality=modality,
                    generation_id=generation_id,
                    statement=statement,
                )
            )

    def get_decision(self, decision_id: str) -> dict[str, Any] | None:
        with self._tx() as s:
            row = s.get(ServiceDecisionRow, decision_id)
            if row is None:
                return None
            appeal = s.scalars(
                select(ServiceAppealRow).where(ServiceAppealRow.decision_id == decision_id)
            ).first()
            return {
                "id": row.id,
                "created": _epoch(row.created),
                "account_id": row.account_id,
                "org_id": row.org_id,
                "kind": row.kind,
                "policy": row.policy,
                "action": row.action,
                "modality": row.modality,
                "generation_id": row.generation_id,
                "statement": row.statement,
                "appeal": (
                    {"id": appeal.id, "status": appeal.status, "created": _epoch(appeal.created)}
                    if appeal is not None
                    else None
                ),
            }

    # -- reports ---------------------------------------------------------------------------
    def add_report(
        self, *, reporter_account: str | None, category: str, reason: str, item: dict[str, Any]
    ) -> dict[str, Any]:
        now = self.store.now()
        report = {
            "id": new_id("rep"),
            "created": _epoch(now),
            "reporter_account": reporter_account,
            "category": category,
            "reason": reason,
            "item": item,
            "status": "received",
        }
        with self._tx(write=True) as s:
            s.add(
                ServiceReportRow(
                    id=report["id"],
                    created=now,
                    reporter_account=reporter_account,
                    category=category,
                    reason=reason,
                    item=item,
                    status="received",
                )
            )
        return report

    def get_report(self, report_id: str) -> dict[str, Any] | None:
        with self._tx() as s:
            row = s.get(ServiceReportRow, report_id)
            if row is None:
                return None
            return {
                "id": row.id,
                "created": _epoch(row.created),
                "reporter_account": row.reporter_account,
                "category": row.category,
                "reason": row.reason,
                "item": row.item,
                "status": row.status,
            }

    # -- appeals ---------------------------------------------------------------------------
    def add_appeal(self, *, decision_id: str, account_id: str, statement: str) -> dict[str, Any]:
        now = self.store.now()
        appeal = {
            "id": new_id("apl"),
            "created": _epoch(now),
            "decision_id": decision_id,
            "account_id": account_id,
            "status": "pending",
        }
        with self._tx(write=True) as s:
            s.add(
                ServiceAppealRow(
                    id=appeal["id"],
                    created=now,
                    decision_id=decision_id,
                    account_id=account_id,
                    statement=statement,
                    status="pending",
                )
            )
        return appeal

    # -- shadow ----------------------------------------------------------------------------
    def add_shadow_result(
        self,
        *,
        pack_id: str,
        live_version: str,
        shadow_version: str,
        modality: str,
        live_action: str,
        shadow_action: str,
        shadow_categories: list[str],
    ) -> None:
        with self._tx(write=True) as s:
            s.add(
                ShadowResultRow(
                    created=self.store.now(),
                    pack_id=pack_id,
                    live_version=live_version,
                    shadow_version=shadow_version,
                    modality=modality,
                    live_action=live_action,
                    shadow_action=shadow_action,
                    shadow_categories={"categories": shadow_categories},
                )
            )

    def shadow_summary(self, pack_id: str) -> list[dict[str, Any]]:
        columns = (
            ShadowResultRow.live_version,
            ShadowResultRow.shadow_version,
            ShadowResultRow.live_action,
            ShadowResultRow.shadow_action,
        )
        with self._tx() as s:
            rows = s.execute(
                select(*columns, func.count().label("n"))
                .where(ShadowResultRow.pack_id == pack_id)
                .group_by(*columns)
                .order_by(*columns)
            ).all()
        return [
            {
                "live_version": r[0],
                "shadow_version": r[1],
                "live_action": r[2],
                "shadow_action": r[3],
                "n": int(r[4]),
            }
            for r in rows
        ]

    # -- packs -----------------------------------------------------------------------------
    def _bump(self, s: Session) -> None:
        updated = s.execute(
            update(ServiceCounterRow)
            .where(ServiceCounterRow.key == PACKS_GENERATION)
            .values(value=ServiceCounterRow.value + 1)
        )
        if getattr(updated, "rowcount", 0) == 0:
            s.add(ServiceCounterRow(key=PACKS_GENERATION, value=1))

    def add_pack(self, pack_id: str, version: str, yaml_text: str) -> None:
        with self._tx(write=True) as s:
            s.add(
                UploadedPackRow(
                    pack_id=pack_id, version=version, yaml=yaml_text, uploaded=self.store.now()
                )
            )
            s.flush()
            self._bump(s)

    def uploaded_packs(self) -> list[tuple[str, str, str]]:
        with self._tx() as s:
            rows = s.scalars(
                select(UploadedPackRow).order_by(UploadedPackRow.uploaded, UploadedPackRow.version)
            ).all()
            return [(r.pack_id, r.version, r.yaml) for r in rows]

    def set_pack_state(
        self, pack_id: str, *, active: str | bool | None = False, shadow: str | bool | None = False
    ) -> None:
        """Set the active and/or shadow version (False leaves a field as it is)."""
        with self._tx(write=True) as s:
            row = s.get(PackStateRow, pack_id, with_for_update=True)
            if row is None:
                row = PackStateRow(pack_id=pack_id, active_version=None, shadow_version=None)
                s.add(row)
            if active is not False:
                row.active_version = active if isinstance(active, str) else None
            if shadow is not False:
                row.shadow_version = shadow if isinstance(shadow, str) else None
            s.flush()
            self._bump(s)

    def pack_states(self) -> dict[str, tuple[str | None, str | None]]:
        with self._tx() as s:
            rows = s.scalars(select(PackStateRow)).all()
            return {r.pack_id: (r.active_version, r.shadow_version) for r in rows}

    def packs_generation(self) -> int:
        with self._tx() as s:
            row = s.get(ServiceCounterRow, PACKS_GENERATION)
            return row.value if row is not None else 0
