"""HL7 control ids point at their message through a foreign key checked at commit.

The listener writes each message's row once, with its outcome, when its batch ends; the
control id is claimed first, inside the message's savepoint, so the key must wait for the
commit. Indexes: the claims by message (SQLite checks a pending deferred key through it) and
the messages of a hospital stay (its labs, read at discharge).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLE = "hl7_applied_control_ids"
KEY = "fk_hl7_applied_control_ids_message_id_hl7_messages"


def _recreate(*, deferred: bool) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table(TABLE, recreate="always") as batch:
        batch.drop_constraint(KEY, type_="foreignkey")
        batch.create_foreign_key(
            KEY,
            "hl7_messages",
            ["message_id"],
            ["id"],
            deferrable=True if deferred else None,
            initially="DEFERRED" if deferred else None,
        )


def upgrade() -> None:
    _recreate(deferred=True)
    op.create_index("ix_hl7_applied_control_ids_message", TABLE, ["message_id"])
    op.create_index("ix_hl7_messages_encounter", "hl7_messages", ["encounter_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_hl7_messages_encounter", table_name="hl7_messages")
    op.drop_index("ix_hl7_applied_control_ids_message", table_name=TABLE)
    _recreate(deferred=False)
