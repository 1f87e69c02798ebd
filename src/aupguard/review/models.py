"""Review tables, on the store's declarative ``Base`` (migration ``0003_review``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aupguard.store.schema import Base


class ReviewItemRow(Base):
    """One thing for a person to decide: a ``review`` verdict, a (group of) user report(s),
    or an appeal. ``group_key`` collects reports about the same item or account."""

    __tablename__ = "review_items"
    __table_args__ = (
        # claiming the next item is one index range scan: open items of a queue in rank order
        Index("ix_review_items_next", "queue", "status", "rank", "created_at"),
        Index("ix_review_items_group", "group_key", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # open | decided
    queue: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(Integer)
    severity: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64))
    surface: Mapped[str] = mapped_column(String(20))
    pack: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str | None] = mapped_column(String(40), index=True)
    reference: Mapped[str | None] = mapped_column(String(200), index=True)
    group_key: Mapped[str | None] = mapped_column(String(240))
    content_text: Mapped[str | None] = mapped_column(Text)
    content_image: Mapped[bytes | None] = mapped_column(LargeBinary)
    image_type: Mapped[str | None] = mapped_column(String(100))
    verdict: Mapped[dict[str, Any]] = mapped_column(JSON)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    report_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]
    sla_due_at: Mapped[dt.datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claim_expires_at: Mapped[dt.datetime | None]
    decided_at: Mapped[dt.datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(40))
    appeal_of: Mapped[str | None] = mapped_column(String(40), index=True)


class ReviewReportRow(Base):
    """One user report, grouped into a review item."""

    __tablename__ = "review_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), index=True)
    report_id: Mapped[str | None] = mapped_column(String(64))
    reporter: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]


class ReviewDecisionRow(Base):
    """What a reviewer decided (or noted) on an item."""

    __tablename__ = "review_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    clause_id: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    pack: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[dt.datetime]


class ReviewerRow(Base):
    __tablename__ = "reviewers"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    roles: Mapped[list[str]] = mapped_column(JSON)
    blur_images: Mapped[bool] = mapped_column(Boolean)
    disabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime]


class ReviewRevealRow(Base):
    """A logged reason for showing a child-safety item in full to one reviewer."""

    __tablename__ = "review_reveals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("review_items.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]
