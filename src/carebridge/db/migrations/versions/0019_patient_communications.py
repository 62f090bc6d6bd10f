"""Messages to patients and families: templates in English and Spanish, letters, and the
communication log.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
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
    """message_templates, patient_communications."""
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        *_tracked(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
        sa.UniqueConstraint("code", "channel", "language", name="uq_message_templates_code"),
    )
    op.create_table(
        "patient_communications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("related_person_id", sa.Uuid(), nullable=True),
        sa.Column("recipient_name", sa.String(length=150), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("template_code", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("mailed_at", sa.DateTime(timezone=True), nullable=True),
        *_tracked(),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_communications_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["related_person_id"],
            ["related_persons.id"],
            name=op.f("fk_patient_communications_related_person_id_related_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["message_templates.id"],
            name=op.f("fk_patient_communications_template_id_message_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_patient_communications_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_communications")),
    )
    op.create_index(
        "ix_patient_communications_patient",
        "patient_communications",
        ["patient_id", "created_at"],
    )
    op.create_index(
        op.f("ix_patient_communications_outbox_id"), "patient_communications", ["outbox_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_communications_outbox_id"), table_name="patient_communications")
    op.drop_index("ix_patient_communications_patient", table_name="patient_communications")
    op.drop_table("patient_communications")
    op.drop_table("message_templates")
