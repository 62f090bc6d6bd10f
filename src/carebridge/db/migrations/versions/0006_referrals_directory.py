"""Outside providers (the referral directory) and referrals with their lifecycle.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outside_providers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("specialty", sa.String(length=100), nullable=True),
        sa.Column("address_line", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("postal_code", sa.String(length=10), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("fax", sa.String(length=20), nullable=True),
        sa.Column("direct_address", sa.String(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outside_providers")),
        sa.UniqueConstraint("npi", name=op.f("uq_outside_providers_npi")),
    )
    with op.batch_alter_table("outside_providers", schema=None) as batch_op:
        batch_op.create_index("ix_outside_providers_name", ["name"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("provider_id", sa.Uuid(), nullable=False),
        sa.Column("service_kind", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(length=8), nullable=False),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.Uuid(), nullable=True),
        sa.Column("scheduled_for", sa.Date(), nullable=True),
        sa.Column("seen_on", sa.Date(), nullable=True),
        sa.Column("report_received_on", sa.Date(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_referrals_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_referrals_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["outside_providers.id"],
            name=op.f("fk_referrals_provider_id_outside_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("number", name=op.f("uq_referrals_number")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_patient", ["patient_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_provider_id"), ["provider_id"], unique=False)
        batch_op.create_index("ix_referrals_status_seen", ["status", "seen_on"], unique=False)
        batch_op.create_index("ix_referrals_status_sent", ["status", "sent_at"], unique=False)

    op.create_table(
        "referral_attachments",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_referral_attachments_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_referral_attachments_referral_id_referrals"),
        ),
        sa.PrimaryKeyConstraint("referral_id", "document_id", name=op.f("pk_referral_attachments")),
    )
    # Referral numbers (R0000001) come from their own counter, as MRNs do.
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": "referral", "value": 0}])


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'referral'")
    op.drop_table("referral_attachments")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_status_sent")
        batch_op.drop_index("ix_referrals_status_seen")
        batch_op.drop_index(batch_op.f("ix_referrals_provider_id"))
        batch_op.drop_index("ix_referrals_patient")

    op.drop_table("referrals")
    with op.batch_alter_table("outside_providers", schema=None) as batch_op:
        batch_op.drop_index("ix_outside_providers_name")

    op.drop_table("outside_providers")
