"""Transportation: ride requests for appointments.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of transport."""
    op.create_table(
        "rides",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("pickup_address", sa.String(length=300), nullable=False),
        sa.Column("mobility", sa.String(length=16), nullable=False),
        sa.Column("escort", sa.String(length=12), nullable=False),
        sa.Column("escort_name", sa.String(length=120), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("pickup_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("return_ride", sa.Boolean(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("confirmation_number", sa.String(length=64), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_rides_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_rides_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rides")),
    )
    with op.batch_alter_table("rides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_rides_appointment_id"), ["appointment_id"], unique=False
        )
        batch_op.create_index("ix_rides_patient", ["patient_id", "pickup_at"], unique=False)
        batch_op.create_index("ix_rides_status_pickup", ["status", "pickup_at"], unique=False)


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("rides", schema=None) as batch_op:
        batch_op.drop_index("ix_rides_status_pickup")
        batch_op.drop_index("ix_rides_patient")
        batch_op.drop_index(batch_op.f("ix_rides_appointment_id"))
    op.drop_table("rides")
