"""FHIR resources as served (current and every version) and the ids senders gave them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """fhir_resources, fhir_resource_versions, fhir_source_ids."""
    op.create_table(
        "fhir_resources",
        sa.Column("pk", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("date_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("date_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_system", sa.String(length=255), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_fhir_resources_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_fhir_resources")),
        sa.UniqueConstraint("resource_type", "id", name="uq_fhir_resources_type_id"),
    )
    op.create_index(
        "ix_fhir_resources_code", "fhir_resources", ["resource_type", "code", "code_system"]
    )
    op.create_index(
        "ix_fhir_resources_patient", "fhir_resources", ["patient_id", "resource_type", "date_start"]
    )
    op.create_index("ix_fhir_resources_updated", "fhir_resources", ["last_updated", "pk"])
    op.create_table(
        "fhir_resource_versions",
        sa.Column("resource_pk", BIG_PK, nullable=False),
        sa.Column("version_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["fhir_resources.pk"],
            name=op.f("fk_fhir_resource_versions_resource_pk_fhir_resources"),
        ),
        sa.PrimaryKeyConstraint(
            "resource_pk", "version_id", name=op.f("pk_fhir_resource_versions")
        ),
    )
    op.create_table(
        "fhir_source_ids",
        sa.Column("namespace", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("resource_pk", BIG_PK, nullable=False),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["fhir_resources.pk"],
            name=op.f("fk_fhir_source_ids_resource_pk_fhir_resources"),
        ),
        sa.PrimaryKeyConstraint(
            "namespace", "resource_type", "source_id", name=op.f("pk_fhir_source_ids")
        ),
    )
    op.create_index(op.f("ix_fhir_source_ids_resource_pk"), "fhir_source_ids", ["resource_pk"])


def downgrade() -> None:
    op.drop_table("fhir_source_ids")
    op.drop_table("fhir_resource_versions")
    op.drop_table("fhir_resources")
