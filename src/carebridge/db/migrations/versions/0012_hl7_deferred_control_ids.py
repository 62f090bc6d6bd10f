"""HL7 control ids point at their message through a foreign key checked at commit.

The listener writes each message's row once, with its outcome, when its batch ends; the
control id is claimed first, inside the message's savepoint, so the key must wait for the
commit.

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


def downgrade() -> None:
    _recreate(deferred=False)
