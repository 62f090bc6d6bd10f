"""Scheduled reports: weekly emails of quality measures, and users' report addresses.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def _tracked() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    """The tables of reports."""
    op.create_table(
        "scheduled_reports",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("measure_keys", sa.JSON(), nullable=False),
        sa.Column("recipient_ids", sa.JSON(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_sent_for", sa.Date(), nullable=True),
        sa.Column("last_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_reports")),
    )
    with op.batch_alter_table("scheduled_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scheduled_reports_is_active"), ["is_active"], unique=False
        )
    op.create_table(
        "report_addresses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        *_tracked(),
        sa.ForeignKeyConstraint(["id"], ["users.id"], name=op.f("fk_report_addresses_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_addresses")),
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("report_addresses")
    with op.batch_alter_table("scheduled_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_scheduled_reports_is_active"))
    op.drop_table("scheduled_reports")
