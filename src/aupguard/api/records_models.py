"""The service's records in the store (migration ``0004_service_records``): decisions with
their statements of reasons (never raw content), user reports, appeals, shadow-mode results,
uploaded packs and which version is active — shared by every worker on every host."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aupguard.store.schema import Base


class ServiceDecisionRow(Base):
    __tablename__ = "service_decisions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[dt.datetime]
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    org_id: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    policy: Mapped[str] = mapped_column(String(140))
    action: Mapped[str] = mapped_column(String(40))
    modality: Mapped[str] = mapped_column(String(40))
    generation_id: Mapped[str | None] = mapped_column(String(40))
    statement: Mapped[dict[str, Any]]


class ServiceReportRow(Base):
    __tablename__ = "service_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[dt.datetime]
    reporter_account: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    item: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(20))


class ServiceAppealRow(Base):
    __tablename__ = "service_appeals"
    __table_args__ = (UniqueConstraint("decision_id", name="uq_service_appeals_decision"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created: Mapped[dt.datetime]
    decision_id: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[str] = mapped_column(String(64))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))


class ShadowResultRow(Base):
    __tablename__ = "shadow_results"
    __table_args__ = (Index("ix_shadow_results_pack", "pack_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created: Mapped[dt.datetime]
    pack_id: Mapped[str] = mapped_column(String(64))
    live_version: Mapped[str] = mapped_column(String(64))
    shadow_version: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(40))
    live_action: Mapped[str] = mapped_column(String(40))
    shadow_action: Mapped[str] = mapped_column(String(40))
    shadow_categories: Mapped[dict[str, Any]]


class UploadedPackRow(Base):
    __tablename__ = "uploaded_packs"

    pack_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    yaml: Mapped[str] = mapped_column(Text)
    uploaded: Mapped[dt.datetime]


class PackStateRow(Base):
    __tablename__ = "pack_states"

    pack_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    active_version: Mapped[str | None] = mapped_column(String(64))
    shadow_version: Mapped[str | None] = mapped_column(String(64))


class ServiceCounterRow(Base):
    """``packs_generation``: bumped on every pack change, so each worker reloads its packs."""

    __tablename__ = "service_counters"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)
