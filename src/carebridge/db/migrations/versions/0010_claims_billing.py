"""Claims (837P) with their status and attachments, billing inquiries and payment plans.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COUNTERS = ("claim", "billing-case", "payment-plan")


def upgrade() -> None:
    """Claims and their attachments, billing cases and notes, payment plans and instalments."""
    op.create_table(
        "claims",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("coverage_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("place_of_service", sa.String(length=2), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("total_charge", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("prior_authorization", sa.String(length=50), nullable=True),
        sa.Column("frequency", sa.String(length=1), nullable=False),
        sa.Column("ever_accepted", sa.Boolean(), nullable=False),
        sa.Column("submissions", sa.Integer(), nullable=False),
        sa.Column("control_number", sa.BigInteger(), nullable=True),
        sa.Column("request_x12", sa.Text(), nullable=True),
        sa.Column("response_x12", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("paid_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("patient_responsibility", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("status_note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_claims_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["coverage_id"], ["coverages.id"], name=op.f("fk_claims_coverage_id_coverages")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_claims_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("number", name=op.f("uq_claims_number")),
    )
    op.create_index(op.f("ix_claims_appointment_id"), "claims", ["appointment_id"], unique=False)
    op.create_index("ix_claims_patient", "claims", ["patient_id", "created_at"], unique=False)
    op.create_index("ix_claims_status", "claims", ["status", "updated_at"], unique=False)
    op.create_table(
        "billing_cases",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_billing_cases_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_billing_cases_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_billing_cases_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_billing_cases_number")),
    )
    op.create_index(
        "ix_billing_cases_patient", "billing_cases", ["patient_id", "status"], unique=False
    )
    op.create_index(
        "ix_billing_cases_status", "billing_cases", ["status", "created_at"], unique=False
    )
    op.create_table(
        "claim_attachments",
        sa.Column("claim_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("report_type", sa.String(length=2), nullable=False),
        sa.Column("transmission", sa.String(length=2), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_attachments_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_claim_attachments_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_attachments")),
    )
    op.create_index(
        op.f("ix_claim_attachments_claim_id"), "claim_attachments", ["claim_id"], unique=False
    )
    op.create_table(
        "payment_plans",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("frequency", sa.String(length=12), nullable=False),
        sa.Column("first_due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_payment_plans_claim_id_claims")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_payment_plans_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_plans")),
        sa.UniqueConstraint("number", name=op.f("uq_payment_plans_number")),
    )
    op.create_index(
        "ix_payment_plans_patient", "payment_plans", ["patient_id", "status"], unique=False
    )
    op.create_table(
        "billing_case_notes",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["billing_cases.id"],
            name=op.f("fk_billing_case_notes_case_id_billing_cases"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_billing_case_notes_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_case_notes")),
    )
    op.create_index(
        op.f("ix_billing_case_notes_case_id"), "billing_case_notes", ["case_id"], unique=False
    )
    op.create_table(
        "instalments",
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("paid_amount", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("reminder_outbox_id", sa.Uuid(), nullable=True),
        sa.Column("reminder_skipped", sa.String(length=200), nullable=True),
        sa.Column("late_task_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["late_task_id"], ["tasks.id"], name=op.f("fk_instalments_late_task_id_tasks")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["payment_plans.id"], name=op.f("fk_instalments_plan_id_payment_plans")
        ),
        sa.ForeignKeyConstraint(
            ["reminder_outbox_id"],
            ["outbox.id"],
            name=op.f("fk_instalments_reminder_outbox_id_outbox"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instalments")),
    )
    op.create_index("ix_instalments_due", "instalments", ["paid_on", "due_on"], unique=False)
    op.create_index(op.f("ix_instalments_plan_id"), "instalments", ["plan_id"], unique=False)

    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": name, "value": 0} for name in COUNTERS])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name IN ('claim', 'billing-case', 'payment-plan')")
    op.drop_table("instalments")
    op.drop_table("billing_case_notes")
    op.drop_table("payment_plans")
    op.drop_table("claim_attachments")
    op.drop_table("billing_cases")
    op.drop_table("claims")
