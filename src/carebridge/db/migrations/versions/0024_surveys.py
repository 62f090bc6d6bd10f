"""Surveys: post-visit survey invitations and responses.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of surveys."""
    op.create_table(
        "survey_invitations",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_survey_invitations_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_survey_invitations_outbox_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_survey_invitations_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_survey_invitations_appointment_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_invitations_token_hash")),
    )
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_invitations_patient_created", ["patient_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_survey_invitations_created", ["created_at"], unique=False)
    op.create_table(
        "survey_responses",
        sa.Column("invitation_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("overall", sa.Integer(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_survey_responses_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_responses_invitation_id_survey_invitations"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_survey_responses_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_survey_responses_invitation_id")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index("ix_survey_responses_answered", ["answered_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_survey_responses_patient_id"), ["patient_id"], unique=False
        )


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_patient_id"))
        batch_op.drop_index("ix_survey_responses_answered")
    op.drop_table("survey_responses")
    with op.batch_alter_table("survey_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_invitations_created")
        batch_op.drop_index("ix_survey_invitations_patient_created")
    op.drop_table("survey_invitations")
