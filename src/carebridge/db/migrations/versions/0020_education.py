"""Patient and family education: the library, reading grade, suggestions, assignments and
teach-back; plain-language terms.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
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
    """education_materials, education_files, education_assignments."""
    op.create_table(
        "education_materials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_type", sa.String(length=100), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.Column("reading_grade", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_materials")),
        sa.UniqueConstraint("code", name=op.f("uq_education_materials_code")),
    )
    op.create_index(
        "ix_education_materials_language",
        "education_materials",
        ["language", "status"],
        unique=False,
    )
    op.create_table(
        "education_files",
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["education_materials.id"],
            name=op.f("fk_education_files_material_id_education_materials"),
        ),
        sa.PrimaryKeyConstraint("material_id", name=op.f("pk_education_files")),
    )
    op.create_table(
        "education_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("material_id", sa.Uuid(), nullable=False),
        sa.Column("care_plan_id", sa.Uuid(), nullable=True),
        sa.Column("activity_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("delivered_via", sa.String(length=8), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outbox_message_id", sa.Uuid(), nullable=True),
        sa.Column("teach_back", sa.String(length=16), nullable=True),
        sa.Column("teach_back_note", sa.Text(), nullable=True),
        sa.Column("teach_back_on", sa.Date(), nullable=True),
        sa.Column("teach_back_by", sa.Uuid(), nullable=True),
        *_tracked(),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_education_assignments_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["material_id"],
            ["education_materials.id"],
            name=op.f("fk_education_assignments_material_id_education_materials"),
        ),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plans.id"],
            name=op.f("fk_education_assignments_care_plan_id_care_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["care_plan_activities.id"],
            name=op.f("fk_education_assignments_activity_id_care_plan_activities"),
        ),
        sa.ForeignKeyConstraint(
            ["teach_back_by"],
            ["users.id"],
            name=op.f("fk_education_assignments_teach_back_by_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_education_assignments")),
    )
    op.create_index(
        "ix_education_assignments_patient",
        "education_assignments",
        ["patient_id", "status"],
        unique=False,
    )
    op.create_index(
        op.f("ix_education_assignments_material_id"),
        "education_assignments",
        ["material_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_education_assignments_care_plan_id"),
        "education_assignments",
        ["care_plan_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_education_assignments_care_plan_id"), table_name="education_assignments")
    op.drop_index(op.f("ix_education_assignments_material_id"), table_name="education_assignments")
    op.drop_index("ix_education_assignments_patient", table_name="education_assignments")
    op.drop_table("education_assignments")
    op.drop_table("education_files")
    op.drop_index("ix_education_materials_language", table_name="education_materials")
    op.drop_table("education_materials")
