"""Patients: demographics, identifiers, contacts, consents, health history, record versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:28:27.885770
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counters",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_counters")),
    )
    op.create_table(
        "record_versions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entity_type", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_versions")),
    )
    with op.batch_alter_table("record_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_record_versions_entity", ["entity_type", "entity_id", "version"], unique=False
        )
        batch_op.create_index(
            "ix_record_versions_patient", ["patient_id", "changed_at"], unique=False
        )

    op.create_table(
        "patients",
        sa.Column("mrn", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_names", sa.String(length=150), nullable=False),
        sa.Column("preferred_name", sa.String(length=100), nullable=True),
        sa.Column(
            "family_folded",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "given_folded",
            sa.String(length=150).with_variant(sa.String(length=150, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("deceased_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("gender_identity", sa.String(length=32), nullable=True),
        sa.Column("pronouns", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("interpreter_needed", sa.Boolean(), nullable=False),
        sa.Column("race", sa.JSON(), nullable=False),
        sa.Column("ethnicity", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address_line1", sa.String(length=150), nullable=True),
        sa.Column("address_line2", sa.String(length=150), nullable=True),
        sa.Column("city", sa.String(length=80), nullable=True),
        sa.Column("state", sa.String(length=40), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("preferred_contact_method", sa.String(length=16), nullable=True),
        sa.Column("preferred_contact_times", sa.String(length=120), nullable=True),
        sa.Column("alerts", sa.Text(), nullable=True),
        sa.Column("allergy_status", sa.String(length=24), nullable=False),
        sa.Column("allergy_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("primary_coordinator_id", sa.Uuid(), nullable=True),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("duplicate_override_reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["patients.id"], name=op.f("fk_patients_merged_into_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["primary_coordinator_id"],
            ["users.id"],
            name=op.f("fk_patients_primary_coordinator_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index("ix_patients_birth_date", ["birth_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_patients_email"), ["email"], unique=False)
        batch_op.create_index(
            "ix_patients_family_given", ["family_folded", "given_folded"], unique=False
        )
        batch_op.create_index(
            "ix_patients_given_family", ["given_folded", "family_folded"], unique=False
        )

    op.create_table(
        "allergies",
        sa.Column("substance", sa.String(length=200), nullable=False),
        sa.Column("code_system", sa.String(length=100), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("criticality", sa.String(length=24), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("reactions", sa.JSON(), nullable=False),
        sa.Column("clinical_status", sa.String(length=16), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_allergies_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allergies")),
    )
    with op.batch_alter_table("allergies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allergies_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "conditions",
        sa.Column("code_system", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("display", sa.String(length=300), nullable=False),
        sa.Column("clinical_status", sa.String(length=16), nullable=False),
        sa.Column("verification_status", sa.String(length=24), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=True),
        sa.Column("abatement_date", sa.Date(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_conditions_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conditions")),
    )
    with op.batch_alter_table("conditions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conditions_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "contact_consents",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=120), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_contact_consents_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_consents")),
    )
    with op.batch_alter_table("contact_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_consents_patient_channel", ["patient_id", "channel"], unique=False
        )

    op.create_table(
        "documents",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_documents_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_documents_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "family_history",
        sa.Column("relationship_code", sa.String(length=16), nullable=False),
        sa.Column("condition", sa.String(length=200), nullable=False),
        sa.Column("code_system", sa.String(length=100), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("onset_age", sa.Integer(), nullable=True),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_family_history_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_history")),
    )
    with op.batch_alter_table("family_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_family_history_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "medications",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("rxnorm", sa.String(length=16), nullable=True),
        sa.Column("dose", sa.String(length=60), nullable=True),
        sa.Column("route", sa.String(length=30), nullable=True),
        sa.Column("frequency", sa.String(length=60), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("stop_date", sa.Date(), nullable=True),
        sa.Column("prescriber", sa.String(length=150), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_medications_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medications")),
    )
    with op.batch_alter_table("medications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_medications_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "past_events",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("code_system", sa.String(length=100), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("facility", sa.String(length=150), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_past_events_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_past_events")),
    )
    with op.batch_alter_table("past_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_past_events_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "patient_identifiers",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("value", sa.String(length=80), nullable=False),
        sa.Column("assigner", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_identifiers_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_identifiers")),
        sa.UniqueConstraint("system", "value", name="uq_patient_identifiers_value"),
    )
    with op.batch_alter_table("patient_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_identifiers_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_patient_identifiers_value"), ["value"], unique=False)

    op.create_table(
        "patient_telecoms",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("system", sa.String(length=8), nullable=False),
        sa.Column("use", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_telecoms_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_telecoms")),
    )
    with op.batch_alter_table("patient_telecoms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_telecoms_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_patient_telecoms_value"), ["value"], unique=False)

    op.create_table(
        "related_persons",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("relationship_code", sa.String(length=16), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("emergency_contact", sa.Boolean(), nullable=False),
        sa.Column("caregiver", sa.Boolean(), nullable=False),
        sa.Column("personal_representative", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_related_persons_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_related_persons")),
    )
    with op.batch_alter_table("related_persons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_related_persons_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "social_history",
        sa.Column("tobacco", sa.String(length=24), nullable=True),
        sa.Column("alcohol", sa.String(length=24), nullable=True),
        sa.Column("substance_use", sa.String(length=200), nullable=True),
        sa.Column("activity_minutes_per_week", sa.Integer(), nullable=True),
        sa.Column("occupation", sa.String(length=120), nullable=True),
        sa.Column("living_situation", sa.String(length=32), nullable=True),
        sa.Column("caregiver_at_home", sa.Boolean(), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_social_history_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_history")),
        sa.UniqueConstraint("patient_id", name="uq_social_history_patient_id"),
    )
    with op.batch_alter_table("social_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_social_history_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "sharing_consents",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("related_person_id", sa.Uuid(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_sharing_consents_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_sharing_consents_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["related_person_id"],
            ["related_persons.id"],
            name=op.f("fk_sharing_consents_related_person_id_related_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sharing_consents")),
    )
    with op.batch_alter_table("sharing_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sharing_consents_patient_id"), ["patient_id"], unique=False
        )
    counters = sa.table("counters", sa.column("name", sa.String), sa.column("value", sa.Integer))
    op.bulk_insert(counters, [{"name": "mrn", "value": 0}])


def downgrade() -> None:
    with op.batch_alter_table("sharing_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sharing_consents_patient_id"))

    op.drop_table("sharing_consents")
    with op.batch_alter_table("social_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_social_history_patient_id"))

    op.drop_table("social_history")
    with op.batch_alter_table("related_persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_related_persons_patient_id"))

    op.drop_table("related_persons")
    with op.batch_alter_table("patient_telecoms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_telecoms_value"))
        batch_op.drop_index(batch_op.f("ix_patient_telecoms_patient_id"))

    op.drop_table("patient_telecoms")
    with op.batch_alter_table("patient_identifiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_identifiers_value"))
        batch_op.drop_index(batch_op.f("ix_patient_identifiers_patient_id"))

    op.drop_table("patient_identifiers")
    with op.batch_alter_table("past_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_past_events_patient_id"))

    op.drop_table("past_events")
    with op.batch_alter_table("medications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_medications_patient_id"))

    op.drop_table("medications")
    with op.batch_alter_table("family_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_history_patient_id"))

    op.drop_table("family_history")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_documents_patient_id"))

    op.drop_table("documents")
    with op.batch_alter_table("contact_consents", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_consents_patient_channel")

    op.drop_table("contact_consents")
    with op.batch_alter_table("conditions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conditions_patient_id"))

    op.drop_table("conditions")
    with op.batch_alter_table("allergies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allergies_patient_id"))

    op.drop_table("allergies")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_given_family")
        batch_op.drop_index("ix_patients_family_given")
        batch_op.drop_index(batch_op.f("ix_patients_email"))
        batch_op.drop_index("ix_patients_birth_date")

    op.drop_table("patients")
    with op.batch_alter_table("record_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_record_versions_patient")
        batch_op.drop_index("ix_record_versions_entity")

    op.drop_table("record_versions")
    op.drop_table("counters")
