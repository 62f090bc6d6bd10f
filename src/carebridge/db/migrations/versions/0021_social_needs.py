"""Social needs screening (AHC HRSN and room for others), needs and rescreening.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of social."""


def downgrade() -> None:
    """Drop them."""
