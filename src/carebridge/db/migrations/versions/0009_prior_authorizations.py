"""Prior authorizations: requests, their services, decisions and appeals.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Authorizations, their services, documents, submissions and appeals."""
    op.create_table(
        "prior_authorizations",
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("coverage_id", sa.Uuid(), nullable=False),
        sa.Column("referral_id", sa.Uuid(), nullable=True),
        sa.Column("ordering_practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("rendering_practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("rendering_provider_id", sa.Uuid(), nullable=True),
        sa.Column("diagnoses", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_start", sa.Date(), nullable=False),
        sa.Column("requested_end", sa.Date(), nullable=False),
        sa.Column("approved_start", sa.Date(), nullable=True),
        sa.Column("approved_end", sa.Date(), nullable=True),
        sa.Column("auth_number", sa.String(length=50), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_source", sa.String(length=12), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coverage_id"],
            ["coverages.id"],
            name=op.f("fk_prior_authorizations_coverage_id_coverages"),
        ),
        sa.ForeignKeyConstraint(
            ["ordering_practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_prior_authorizations_ordering_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_prior_authorizations_patient_id_patients"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_prior_authorizations_referral_id_referrals"),
        ),
        sa.ForeignKeyConstraint(
            ["rendering_practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_prior_authorizations_rendering_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["rendering_provider_id"],
            ["outside_providers.id"],
            name=op.f("fk_prior_authorizations_rendering_provider_id_outside_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_authorizations")),
        sa.UniqueConstraint("number", name=op.f("uq_prior_authorizations_number")),
    )
    with op.batch_alter_table("prior_authorizations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prior_authorizations_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index(
            "ix_prior_authorizations_patient", ["patient_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_prior_authorizations_status_end", ["status", "approved_end"], unique=False
        )

    op.create_table(
        "prior_authorization_appeals",
        sa.Column("authorization_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("submitted_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["prior_authorizations.id"],
            name=op.f("fk_prior_authorization_appeals_authorization_id_prior_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_authorization_appeals")),
    )
    with op.batch_alter_table("prior_authorization_appeals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prior_authorization_appeals_authorization_id"),
            ["authorization_id"],
            unique=False,
        )

    op.create_table(
        "prior_authorization_documents",
        sa.Column("authorization_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["prior_authorizations.id"],
            name=op.f("fk_prior_authorization_documents_authorization_id_prior_authorizations"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_prior_authorization_documents_document_id_documents"),
        ),
        sa.PrimaryKeyConstraint(
            "authorization_id", "document_id", name=op.f("pk_prior_authorization_documents")
        ),
    )
    op.create_table(
        "prior_authorization_services",
        sa.Column("authorization_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("modifiers", sa.JSON(), nullable=False),
        sa.Column("units_requested", sa.Integer(), nullable=False),
        sa.Column("units_approved", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["prior_authorizations.id"],
            name=op.f("fk_prior_authorization_services_authorization_id_prior_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_authorization_services")),
    )
    with op.batch_alter_table("prior_authorization_services", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prior_authorization_services_authorization_id"),
            ["authorization_id"],
            unique=False,
        )

    op.create_table(
        "prior_authorization_submissions",
        sa.Column("authorization_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=12), nullable=False),
        sa.Column("control_number", sa.BigInteger(), nullable=True),
        sa.Column("trace_number", sa.String(length=50), nullable=False),
        sa.Column("request_payload", sa.Text(), nullable=False),
        sa.Column("response_payload", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["prior_authorizations.id"],
            name=op.f("fk_prior_authorization_submissions_authorization_id_prior_authorizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prior_authorization_submissions")),
        sa.UniqueConstraint(
            "trace_number", name=op.f("uq_prior_authorization_submissions_trace_number")
        ),
    )
    with op.batch_alter_table("prior_authorization_submissions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pa_submissions_authorization", ["authorization_id", "created_at"], unique=False
        )
    # Our authorization numbers (PA0000001) come from their own counter, as referrals do.
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": "prior-auth", "value": 0}])


def downgrade() -> None:
    """Drops the prior authorization tables."""
    op.execute("DELETE FROM counters WHERE name = 'prior-auth'")
    with op.batch_alter_table("prior_authorization_submissions", schema=None) as batch_op:
        batch_op.drop_index("ix_pa_submissions_authorization")

    op.drop_table("prior_authorization_submissions")
    with op.batch_alter_table("prior_authorization_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prior_authorization_services_authorization_id"))

    op.drop_table("prior_authorization_services")
    op.drop_table("prior_authorization_documents")
    with op.batch_alter_table("prior_authorization_appeals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prior_authorization_appeals_authorization_id"))

    op.drop_table("prior_authorization_appeals")
    with op.batch_alter_table("prior_authorizations", schema=None) as batch_op:
        batch_op.drop_index("ix_prior_authorizations_status_end")
        batch_op.drop_index("ix_prior_authorizations_patient")
        batch_op.drop_index("ix_prior_authorizations_due")

    op.drop_table("prior_authorizations")
