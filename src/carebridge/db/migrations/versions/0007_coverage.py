"""Payers, plans and patients' insurance coverage.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Payers, their plans, and patients' coverages."""
    op.create_table(
        "payers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("payer_id", sa.String(length=80), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payers")),
        sa.UniqueConstraint("payer_id", name=op.f("uq_payers_payer_id")),
    )
    op.create_table(
        "plans",
        sa.Column("payer_ref", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("plan_type", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["payer_ref"], ["payers.id"], name=op.f("fk_plans_payer_ref_payers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plans_payer_ref"), ["payer_ref"], unique=False)

    op.create_table(
        "coverages",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("payer_ref", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=True),
        sa.Column("member_id", sa.String(length=80), nullable=False),
        sa.Column("group_number", sa.String(length=50), nullable=True),
        sa.Column("group_name", sa.String(length=200), nullable=True),
        sa.Column("relationship", sa.String(length=8), nullable=False),
        sa.Column("subscriber_family_name", sa.String(length=100), nullable=True),
        sa.Column("subscriber_given_names", sa.String(length=100), nullable=True),
        sa.Column("subscriber_birth_date", sa.Date(), nullable=True),
        sa.Column("subscriber_sex", sa.String(length=8), nullable=True),
        sa.Column("subscriber_member_id", sa.String(length=80), nullable=True),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("card_front_id", sa.Uuid(), nullable=True),
        sa.Column("card_back_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_back_id"], ["documents.id"], name=op.f("fk_coverages_card_back_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["card_front_id"], ["documents.id"], name=op.f("fk_coverages_card_front_id_documents")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_coverages_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["payer_ref"], ["payers.id"], name=op.f("fk_coverages_payer_ref_payers")
        ),
        sa.ForeignKeyConstraint(["plan_id"], ["plans.id"], name=op.f("fk_coverages_plan_id_plans")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverages")),
    )
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_coverages_patient", ["patient_id", "status", "rank"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_coverages_payer_ref"), ["payer_ref"], unique=False)


def downgrade() -> None:
    """Drops this revision's tables, coverages first (they point at plans and payers)."""
    with op.batch_alter_table("coverages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coverages_payer_ref"))
        batch_op.drop_index("ix_coverages_patient")

    op.drop_table("coverages")
    with op.batch_alter_table("plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plans_payer_ref"))

    op.drop_table("plans")
    op.drop_table("payers")
