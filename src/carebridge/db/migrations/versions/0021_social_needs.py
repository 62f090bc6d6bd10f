"""Social needs screening (AHC HRSN and room for others), needs and rescreening.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def _tracked() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    """social_screenings, social_needs."""
    op.create_table(
        "social_screenings",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("instrument", sa.String(length=32), nullable=False),
        sa.Column("instrument_version", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("respondent", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("positive", sa.Boolean(), nullable=False),
        sa.Column("screened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("rescreen_due_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        *_tracked(),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_social_screenings_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_screenings")),
    )
    with op.batch_alter_table("social_screenings") as batch_op:
        batch_op.create_index(
            "ix_social_screenings_patient", ["patient_id", "screened_at"], unique=False
        )
    op.create_table(
        "social_needs",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("screening_id", sa.Uuid(), nullable=False),
        sa.Column("domain", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("identified_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        *_tracked(),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_social_needs_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["screening_id"],
            ["social_screenings.id"],
            name=op.f("fk_social_needs_screening_id_social_screenings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_needs")),
    )
    with op.batch_alter_table("social_needs") as batch_op:
        batch_op.create_index("ix_social_needs_patient", ["patient_id", "status"], unique=False)
        batch_op.create_index(op.f("ix_social_needs_screening_id"), ["screening_id"], unique=False)


def downgrade() -> None:
    """Drop them."""
    op.drop_table("social_needs")
    op.drop_table("social_screenings")
