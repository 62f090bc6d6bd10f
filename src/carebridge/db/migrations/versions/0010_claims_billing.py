"""Claims (837P) with their status and attachments, billing inquiries and payment plans.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Filled in with the claims and billing models."""


def downgrade() -> None:
    """Nothing to undo yet."""
