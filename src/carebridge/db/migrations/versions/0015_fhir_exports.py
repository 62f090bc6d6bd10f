"""FHIR Bulk Data exports: what each one asked for, as of when, and its files.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """fhir_exports."""
    op.create_table(
        "fhir_exports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("transaction_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_fhir_exports_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_exports")),
    )


def downgrade() -> None:
    op.drop_table("fhir_exports")
