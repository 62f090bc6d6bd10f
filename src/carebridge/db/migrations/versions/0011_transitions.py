"""HL7 v2 messages as received, hospital encounters, and post-discharge transitions.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Encounters, raw HL7 messages with their applied control ids, and transitions."""
    op.create_table(
        "encounters",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("facility", sa.String(length=227), nullable=True),
        sa.Column("visit_number", sa.String(length=80), nullable=True),
        sa.Column("class_code", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("admit_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discharge_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location", sa.String(length=250), nullable=True),
        sa.Column("prior_location", sa.String(length=250), nullable=True),
        sa.Column("admission_type", sa.String(length=4), nullable=True),
        sa.Column("admit_source", sa.String(length=8), nullable=True),
        sa.Column("hospital_service", sa.String(length=40), nullable=True),
        sa.Column("discharge_disposition", sa.String(length=8), nullable=True),
        sa.Column("attending", sa.String(length=200), nullable=True),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("last_event", sa.String(length=3), nullable=True),
        sa.Column("readmission_of_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_encounters_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["readmission_of_id"],
            ["encounters.id"],
            name=op.f("fk_encounters_readmission_of_id_encounters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_encounters")),
    )
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.create_index("ix_encounters_patient", ["patient_id", "admit_at"], unique=False)
        batch_op.create_index("ix_encounters_status", ["status", "class_code"], unique=False)
        batch_op.create_index("ix_encounters_visit", ["facility", "visit_number"], unique=False)

    op.create_table(
        "hl7_messages",
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("peer", sa.String(length=200), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=True),
        sa.Column("sending_application", sa.String(length=227), nullable=True),
        sa.Column("sending_facility", sa.String(length=227), nullable=True),
        sa.Column("message_type", sa.String(length=20), nullable=True),
        sa.Column("event", sa.String(length=3), nullable=True),
        sa.Column("version", sa.String(length=12), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("ack_code", sa.String(length=2), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_location", sa.String(length=40), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("replay_of_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"],
            ["encounters.id"],
            name=op.f("fk_hl7_messages_encounter_id_encounters"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_hl7_messages_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["replay_of_id"],
            ["hl7_messages.id"],
            name=op.f("fk_hl7_messages_replay_of_id_hl7_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_messages")),
    )
    with op.batch_alter_table("hl7_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_hl7_messages_control", ["sending_facility", "control_id"], unique=False
        )
        batch_op.create_index(
            "ix_hl7_messages_patient", ["patient_id", "received_at"], unique=False
        )
        batch_op.create_index("ix_hl7_messages_status", ["status", "received_at"], unique=False)

    op.create_table(
        "hl7_applied_control_ids",
        sa.Column("sender", sa.String(length=460), nullable=False),
        sa.Column("control_id", sa.String(length=199), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["hl7_messages.id"],
            name=op.f("fk_hl7_applied_control_ids_message_id_hl7_messages"),
        ),
        sa.PrimaryKeyConstraint("sender", "control_id", name=op.f("pk_hl7_applied_control_ids")),
    )
    op.create_table(
        "transitions",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("discharged_on", sa.Date(), nullable=False),
        sa.Column("contact_due_on", sa.Date(), nullable=False),
        sa.Column("contacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact_note", sa.Text(), nullable=True),
        sa.Column("complexity", sa.String(length=10), nullable=False),
        sa.Column("follow_up_due_on", sa.Date(), nullable=False),
        sa.Column("follow_up_appointment_id", sa.Uuid(), nullable=True),
        sa.Column("medications_reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("discharge_summary_id", sa.Uuid(), nullable=True),
        sa.Column("lace_score", sa.SmallInteger(), nullable=True),
        sa.Column("risk", sa.JSON(), nullable=False),
        sa.Column("readmission", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["discharge_summary_id"],
            ["documents.id"],
            name=op.f("fk_transitions_discharge_summary_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_transitions_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_transitions_follow_up_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_transitions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
        sa.UniqueConstraint("encounter_id", name=op.f("uq_transitions_encounter_id")),
    )
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_transitions_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_transitions_status", ["status", "contact_due_on"], unique=False)


def downgrade() -> None:
    """Drops this revision's tables, transitions first."""
    with op.batch_alter_table("transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_transitions_status")
        batch_op.drop_index(batch_op.f("ix_transitions_patient_id"))

    op.drop_table("transitions")
    op.drop_table("hl7_applied_control_ids")
    with op.batch_alter_table("hl7_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_hl7_messages_status")
        batch_op.drop_index("ix_hl7_messages_patient")
        batch_op.drop_index("ix_hl7_messages_control")

    op.drop_table("hl7_messages")
    with op.batch_alter_table("encounters", schema=None) as batch_op:
        batch_op.drop_index("ix_encounters_visit")
        batch_op.drop_index("ix_encounters_status")
        batch_op.drop_index("ix_encounters_patient")

    op.drop_table("encounters")
