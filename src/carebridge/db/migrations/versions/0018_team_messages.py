"""Care team messaging: threads, messages, mentions, read state, attachments.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """team_threads, team_thread_participants, team_messages, team_message_attachments."""
    op.create_table(
        "team_threads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_team_threads_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_team_threads_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_threads")),
    )
    op.create_index("ix_team_threads_patient", "team_threads", ["patient_id", "last_message_at"])
    op.create_table(
        "team_thread_participants",
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("joined_as", sa.String(length=16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.Uuid(), nullable=True),
        sa.Column("read_seq", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["thread_id"],
            ["team_threads.id"],
            name=op.f("fk_team_thread_participants_thread_id_team_threads"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_team_thread_participants_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_team_thread_participants_added_by_users")
        ),
        sa.PrimaryKeyConstraint("thread_id", "user_id", name=op.f("pk_team_thread_participants")),
    )
    op.create_index(
        "ix_team_thread_participants_user", "team_thread_participants", ["user_id", "thread_id"]
    )
    op.create_table(
        "team_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("thread_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["team_threads.id"], name=op.f("fk_team_messages_thread_id_team_threads")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_team_messages_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_messages")),
        sa.UniqueConstraint("thread_id", "seq", name="uq_team_messages_thread_seq"),
    )
    op.create_table(
        "team_message_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["team_messages.id"],
            name=op.f("fk_team_message_attachments_message_id_team_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_message_attachments")),
    )
    op.create_index(
        op.f("ix_team_message_attachments_message_id"),
        "team_message_attachments",
        ["message_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_team_message_attachments_message_id"), table_name="team_message_attachments"
    )
    op.drop_table("team_message_attachments")
    op.drop_table("team_messages")
    op.drop_index("ix_team_thread_participants_user", table_name="team_thread_participants")
    op.drop_table("team_thread_participants")
    op.drop_index("ix_team_threads_patient", table_name="team_threads")
    op.drop_table("team_threads")
