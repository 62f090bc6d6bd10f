"""FHIR search index: the token, string and reference values each resource is found by.

Resources stored before this revision have no index rows: ``carebridge fhir reindex`` writes
them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BIG_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Byte-wise comparison on PostgreSQL, so a starts-with search is an index range scan.
TEXT = sa.String(length=255).with_variant(sa.String(length=255, collation="C"), "postgresql")


def _table(name: str, *columns: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("pk", BIG_PK, autoincrement=True, nullable=False),
        sa.Column("resource_pk", BIG_PK, nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["fhir_resources.pk"],
            name=op.f(f"fk_{name}_resource_pk_fhir_resources"),
        ),
        sa.PrimaryKeyConstraint("pk", name=op.f(f"pk_{name}")),
    )
    # A resource's values of one parameter: what a search probes for each candidate.
    op.create_index(f"ix_{name}_resource", name, ["resource_pk", "param"])


def upgrade() -> None:
    """fhir_tokens, fhir_strings, fhir_references."""
    _table(
        "fhir_tokens",
        sa.Column("system", TEXT, nullable=True),
        sa.Column("code", TEXT, nullable=False),
    )
    op.create_index("ix_fhir_tokens_value", "fhir_tokens", ["param", "code", "system"])
    _table(
        "fhir_strings",
        sa.Column("value", TEXT, nullable=False),
        sa.Column("exact", TEXT, nullable=False),
    )
    op.create_index("ix_fhir_strings_value", "fhir_strings", ["param", "value"])
    _table(
        "fhir_references",
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
    )
    op.create_index(
        "ix_fhir_references_target", "fhir_references", ["target_type", "target_id", "param"]
    )


def downgrade() -> None:
    for name in ("fhir_references", "fhir_strings", "fhir_tokens"):
        op.drop_table(name)
