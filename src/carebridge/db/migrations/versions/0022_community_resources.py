"""Community resources: a directory imported from Open Referral HSDS (organizations, services,
locations, service_at_location, phones, weekly schedules, languages), and community referrals.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """resource_* directory tables and community_referrals."""
    op.create_table(
        "resource_organizations",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("alternate_name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("website", sa.String(length=300), nullable=True),
        sa.Column("provider_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["outside_providers.id"],
            name=op.f("fk_resource_organizations_provider_id_outside_providers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_organizations")),
        sa.UniqueConstraint("hsds_id", name=op.f("uq_resource_organizations_hsds_id")),
    )
    op.create_index(
        op.f("ix_resource_organizations_name"), "resource_organizations", ["name"], unique=False
    )
    op.create_table(
        "resource_locations",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("address_1", sa.String(length=200), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=40), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["resource_organizations.id"],
            name=op.f("fk_resource_locations_organization_id_resource_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_locations")),
        sa.UniqueConstraint("hsds_id", name=op.f("uq_resource_locations_hsds_id")),
    )
    op.create_index(
        op.f("ix_resource_locations_organization_id"),
        "resource_locations",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "resource_services",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("alternate_name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=300), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("needs_by_hand", sa.Boolean(), nullable=False),
        sa.Column("taxonomy", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["resource_organizations.id"],
            name=op.f("fk_resource_services_organization_id_resource_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_services")),
        sa.UniqueConstraint("hsds_id", name=op.f("uq_resource_services_hsds_id")),
    )
    op.create_index(op.f("ix_resource_services_name"), "resource_services", ["name"], unique=False)
    op.create_index(
        op.f("ix_resource_services_organization_id"),
        "resource_services",
        ["organization_id"],
        unique=False,
    )
    op.create_table(
        "resource_languages",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["resource_locations.id"],
            name=op.f("fk_resource_languages_location_id_resource_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["resource_services.id"],
            name=op.f("fk_resource_languages_service_id_resource_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_languages")),
        sa.UniqueConstraint("hsds_id", name=op.f("uq_resource_languages_hsds_id")),
    )
    op.create_index(
        op.f("ix_resource_languages_code"), "resource_languages", ["code"], unique=False
    )
    op.create_index(
        op.f("ix_resource_languages_location_id"),
        "resource_languages",
        ["location_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_resource_languages_service_id"), "resource_languages", ["service_id"], unique=False
    )
    op.create_table(
        "resource_phones",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("extension", sa.String(length=10), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["resource_locations.id"],
            name=op.f("fk_resource_phones_location_id_resource_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["resource_organizations.id"],
            name=op.f("fk_resource_phones_organization_id_resource_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["resource_services.id"],
            name=op.f("fk_resource_phones_service_id_resource_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_phones")),
        sa.UniqueConstraint("hsds_id", name=op.f("uq_resource_phones_hsds_id")),
    )
    op.create_index(
        op.f("ix_resource_phones_location_id"), "resource_phones", ["location_id"], unique=False
    )
    op.create_index(
        op.f("ix_resource_phones_organization_id"),
        "resource_phones",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_resource_phones_service_id"), "resource_phones", ["service_id"], unique=False
    )
    op.create_table(
        "resource_schedules",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["resource_locations.id"],
            name=op.f("fk_resource_schedules_location_id_resource_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["resource_services.id"],
            name=op.f("fk_resource_schedules_service_id_resource_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_schedules")),
    )
    op.create_index(
        "ix_resource_schedules_hsds", "resource_schedules", ["hsds_id", "weekday"], unique=True
    )
    op.create_index(
        op.f("ix_resource_schedules_location_id"),
        "resource_schedules",
        ["location_id"],
        unique=False,
    )
    op.create_index(
        "ix_resource_schedules_service",
        "resource_schedules",
        ["service_id", "weekday"],
        unique=False,
    )
    op.create_table(
        "resource_service_locations",
        sa.Column("hsds_id", sa.String(length=100), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["resource_locations.id"],
            name=op.f("fk_resource_service_locations_location_id_resource_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["resource_services.id"],
            name=op.f("fk_resource_service_locations_service_id_resource_services"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_service_locations")),
        sa.UniqueConstraint("hsds_id", name=op.f("uq_resource_service_locations_hsds_id")),
    )
    op.create_index(
        op.f("ix_resource_service_locations_location_id"),
        "resource_service_locations",
        ["location_id"],
        unique=False,
    )
    op.create_index(
        "ix_resource_service_locations_pair",
        "resource_service_locations",
        ["service_id", "location_id"],
        unique=False,
    )
    op.create_table(
        "community_referrals",
        sa.Column("referral_id", sa.Uuid(), nullable=False),
        sa.Column("service_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("need", sa.String(length=24), nullable=True),
        sa.Column("confirm_within_days", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_via", sa.String(length=8), nullable=True),
        sa.Column("confirmation_note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["resource_locations.id"],
            name=op.f("fk_community_referrals_location_id_resource_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"],
            ["referrals.id"],
            name=op.f("fk_community_referrals_referral_id_referrals"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["resource_services.id"],
            name=op.f("fk_community_referrals_service_id_resource_services"),
        ),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_community_referrals")),
    )
    op.create_index(
        op.f("ix_community_referrals_service_id"),
        "community_referrals",
        ["service_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("community_referrals")
    op.drop_table("resource_service_locations")
    op.drop_table("resource_schedules")
    op.drop_table("resource_phones")
    op.drop_table("resource_languages")
    op.drop_table("resource_services")
    op.drop_table("resource_locations")
    op.drop_table("resource_organizations")
