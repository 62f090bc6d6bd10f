"""Eligibility checks (270 sent, 271 received, both kept raw), X12 control numbers, and how each
payer takes prior authorization requests; the billing code of each appointment type.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Control numbers, eligibility checks, and the payers' prior authorization channel."""
    op.create_table(
        "x12_control_numbers",
        sa.Column("sender_id", sa.String(length=15), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", name=op.f("pk_x12_control_numbers")),
    )
    op.create_table(
        "eligibility_checks",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("coverage_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("service_date", sa.Date(), nullable=False),
        sa.Column("trigger", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("trace_number", sa.String(length=50), nullable=False),
        sa.Column("control_number", sa.BigInteger(), nullable=False),
        sa.Column("request_x12", sa.Text(), nullable=False),
        sa.Column("response_x12", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_eligibility_checks_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverages.id"],
            name=op.f("fk_eligibility_checks_coverage_id_coverages"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_eligibility_checks_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_eligibility_checks_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_eligibility_checks")),
        sa.UniqueConstraint("trace_number", name=op.f("uq_eligibility_checks_trace_number")),
    )
    with op.batch_alter_table("eligibility_checks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_eligibility_checks_coverage", ["coverage_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_eligibility_checks_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_eligibility_checks_patient", ["patient_id", "created_at"], unique=False
        )
    # Existing payers keep the X12 channel; the default is only for rows already there.
    with op.batch_alter_table("payers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "prior_auth_channel",
                sa.String(length=12),
                nullable=False,
                server_default="x12-278",
            )
        )
    with op.batch_alter_table("payers", schema=None) as batch_op:
        batch_op.alter_column("prior_auth_channel", server_default=None)
    with op.batch_alter_table("appointment_types", schema=None) as batch_op:
        batch_op.add_column(sa.Column("service_code", sa.String(length=5), nullable=True))
        batch_op.add_column(
            sa.Column(
                "prior_auth_required", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("appointment_types", schema=None) as batch_op:
        batch_op.alter_column("prior_auth_required", server_default=None)


def downgrade() -> None:
    """Drops the checks and control numbers and the added columns."""
    with op.batch_alter_table("appointment_types", schema=None) as batch_op:
        batch_op.drop_column("prior_auth_required")
        batch_op.drop_column("service_code")
    with op.batch_alter_table("payers", schema=None) as batch_op:
        batch_op.drop_column("prior_auth_channel")
    with op.batch_alter_table("eligibility_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_eligibility_checks_patient")
        batch_op.drop_index("ix_eligibility_checks_due")
        batch_op.drop_index("ix_eligibility_checks_coverage")
    op.drop_table("eligibility_checks")
    op.drop_table("x12_control_numbers")
