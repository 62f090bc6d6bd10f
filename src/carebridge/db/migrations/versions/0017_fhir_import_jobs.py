"""Imports started from the FHIR import page, with their progress and summary; the Patient
a chart was imported from, kept as sent.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """fhir_import_jobs, fhir_source_ids.original."""
    with op.batch_alter_table("fhir_source_ids") as batch_op:
        batch_op.add_column(sa.Column("original", sa.LargeBinary(), nullable=True))
    op.create_table(
        "fhir_import_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("files_done", sa.Integer(), nullable=False),
        sa.Column("resources", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_fhir_import_jobs_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fhir_import_jobs")),
    )


def downgrade() -> None:
    op.drop_table("fhir_import_jobs")
    with op.batch_alter_table("fhir_source_ids") as batch_op:
        batch_op.drop_column("original")
