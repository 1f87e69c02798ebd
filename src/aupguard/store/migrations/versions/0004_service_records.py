"""The HTTP service's records: decisions (statements of reasons), reports, appeals, shadow
results, uploaded packs and pack states, so many workers on many hosts share them.

Revision ID: 0004
Revises: 0003
Create Date: 2025-01-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# the models live in aupguard.api.records_models; importing registers them on the store's Base
import aupguard.api.records_models  # noqa: F401

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("policy", sa.String(length=140), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("modality", sa.String(length=40), nullable=False),
        sa.Column("generation_id", sa.String(length=40), nullable=True),
        sa.Column("statement", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_service_decisions_account_id"), "service_decisions", ["account_id"])
    op.create_table(
        "service_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("reporter_account", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("item", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "service_appeals",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("decision_id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_id", name="uq_service_appeals_decision"),
    )
    op.create_table(
        "shadow_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("live_version", sa.String(length=64), nullable=False),
        sa.Column("shadow_version", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=40), nullable=False),
        sa.Column("live_action", sa.String(length=40), nullable=False),
        sa.Column("shadow_action", sa.String(length=40), nullable=False),
        sa.Column("shadow_categories", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_shadow_results_pack", "shadow_results", ["pack_id"])
    op.create_table(
        "uploaded_packs",
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=False),
        sa.Column("uploaded", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", "version"),
    )
    op.create_table(
        "pack_states",
        sa.Column("pack_id", sa.String(length=64), nullable=False),
        sa.Column("active_version", sa.String(length=64), nullable=True),
        sa.Column("shadow_version", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("pack_id"),
    )
    op.create_table(
        "service_counters",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    for table in (
        "service_counters",
        "pack_states",
        "uploaded_packs",
        "shadow_results",
        "service_appeals",
        "service_reports",
        "service_decisions",
    ):
        op.drop_table(table)
