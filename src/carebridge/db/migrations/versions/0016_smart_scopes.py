"""SMART scopes on API tokens, and the patient a token's patient/ scopes are about.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """api_tokens.scopes, api_tokens.patient_id."""
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("patient_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_tokens_patient_id_patients"), "patients", ["patient_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_tokens_patient_id_patients"), type_="foreignkey"
        )
        batch_op.drop_column("patient_id")
        batch_op.drop_column("scopes")
