"""Name-search indexes that cover the list order, id and status.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LIST = ("birth_date", "id", "status")


def upgrade() -> None:
    op.create_index("ix_patients_family_list", "patients", ["family_folded", "given_folded", *LIST])
    op.create_index("ix_patients_given_list", "patients", ["given_folded", "family_folded", *LIST])
    op.drop_index("ix_patients_family_given", table_name="patients")
    op.drop_index("ix_patients_given_family", table_name="patients")


def downgrade() -> None:
    op.create_index("ix_patients_family_given", "patients", ["family_folded", "given_folded"])
    op.create_index("ix_patients_given_family", "patients", ["given_folded", "family_folded"])
    op.drop_index("ix_patients_given_list", table_name="patients")
    op.drop_index("ix_patients_family_list", table_name="patients")
