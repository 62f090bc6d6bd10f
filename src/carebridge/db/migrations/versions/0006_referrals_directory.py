"""Outside providers (the referral directory) and referrals with their lifecycle.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in with this revision's tables."""


def downgrade() -> None:
    """Drops this revision's tables."""
