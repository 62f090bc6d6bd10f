"""Prior authorizations: requests, their services, decisions and appeals.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in with the prior authorization models."""


def downgrade() -> None:
    """Nothing to undo yet."""
