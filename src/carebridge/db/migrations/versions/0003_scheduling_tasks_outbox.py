"""Scheduling, tasks and the outbox; no double booking on PostgreSQL by exclusion constraints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:39:49.290817
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment_types",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("buffer_minutes", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=12), nullable=False),
        sa.Column("visit_kind", sa.String(length=12), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("room_kind", sa.String(length=32), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_types")),
        sa.UniqueConstraint("code", name=op.f("uq_appointment_types_code")),
    )
    op.create_table(
        "locations",
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
    )
    op.create_table(
        "clinic_holidays",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_clinic_holidays_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_holidays")),
        sa.UniqueConstraint("day", "location_id", name="uq_clinic_holidays_day"),
    )
    op.create_table(
        "practitioners",
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("calendar_token", sa.String(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_practitioners_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("calendar_token", name=op.f("uq_practitioners_calendar_token")),
        sa.UniqueConstraint("npi", name=op.f("uq_practitioners_npi")),
    )
    op.create_table(
        "rooms",
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_rooms_location_id_locations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rooms")),
    )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rooms_location_id"), ["location_id"], unique=False)

    op.create_table(
        "appointment_series",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("rrule", sa.String(length=200), nullable=False),
        sa.Column("first_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_appointment_series_appointment_type_id_appointment_types"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointment_series_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_appointment_series_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_series")),
    )
    with op.batch_alter_table("appointment_series", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_series_patient_id"), ["patient_id"], unique=False
        )

    op.create_table(
        "availability_rules",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("rrule", sa.String(length=200), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("exdates", sa.JSON(), nullable=False),
        sa.Column("modalities", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_availability_rules_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_availability_rules_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_availability_rules")),
    )
    with op.batch_alter_table("availability_rules", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_availability_rules_practitioner_id"), ["practitioner_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("focus_type", sa.String(length=64), nullable=True),
        sa.Column("focus_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_id", sa.String(length=200), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outbox_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "practitioner_offerings",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_practitioner_offerings_appointment_type_id_appointment_types"),
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_practitioner_offerings_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint(
            "practitioner_id", "appointment_type_id", name=op.f("pk_practitioner_offerings")
        ),
    )
    op.create_table(
        "tasks",
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("business_status", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("focus_type", sa.String(length=64), nullable=True),
        sa.Column("focus_id", sa.Uuid(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_tasks_owner_id_users")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_tasks_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("dedupe_key", name="uq_tasks_dedupe_key"),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_focus", ["focus_type", "focus_id"], unique=False)
        batch_op.create_index("ix_tasks_owner_open", ["owner_id", "status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_tasks_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_tasks_queue_open", ["queue", "status", "due_at"], unique=False)

    op.create_table(
        "time_off",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_time_off_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_time_off")),
    )
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.create_index(
            "ix_time_off_practitioner_time", ["practitioner_id", "starts_at"], unique=False
        )

    op.create_table(
        "appointments",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("room_id", sa.Uuid(), nullable=True),
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.Column("series_id", sa.Uuid(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("modality", sa.String(length=12), nullable=False),
        sa.Column("cancel_reason", sa.String(length=32), nullable=True),
        sa.Column("cancel_note", sa.Text(), nullable=True),
        sa.Column("telehealth_token", sa.String(length=64), nullable=True),
        sa.Column("phone_number", sa.String(length=20), nullable=True),
        sa.Column("patient_token", sa.String(length=64), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("rescheduled_from_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_appointments_appointment_type_id_appointment_types"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_appointments_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_appointments_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["rescheduled_from_id"],
            ["appointments.id"],
            name=op.f("fk_appointments_rescheduled_from_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_appointments_room_id_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["appointment_series.id"],
            name=op.f("fk_appointments_series_id_appointment_series"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("patient_token", name=op.f("uq_appointments_patient_token")),
        sa.UniqueConstraint("telehealth_token", name=op.f("uq_appointments_telehealth_token")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointments_location_time", ["location_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_patient_time", ["patient_id", "starts_at"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_practitioner_time", ["practitioner_id", "starts_at"], unique=False
        )
        batch_op.create_index("ix_appointments_room_time", ["room_id", "starts_at"], unique=False)

    op.create_table(
        "delivery_attempts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["outbox.id"], name=op.f("fk_delivery_attempts_message_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
    )
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_attempts_message_id"), ["message_id"], unique=False
        )

    op.create_table(
        "appointment_reminders",
        sa.Column("appointment_id", sa.Uuid(), nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("skip_reason", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_appointment_reminders_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["outbox.id"], name=op.f("fk_appointment_reminders_outbox_id_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointment_reminders")),
        sa.UniqueConstraint(
            "appointment_id", "offset_minutes", "channel", name="uq_appointment_reminders_once"
        ),
    )
    with op.batch_alter_table("appointment_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_reminders_appointment_id"), ["appointment_id"], unique=False
        )

    op.create_table(
        "waitlist",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("appointment_type_id", sa.Uuid(), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=True),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("earliest", sa.Date(), nullable=False),
        sa.Column("latest", sa.Date(), nullable=True),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("day_part", sa.String(length=12), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("offered_appointment_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_waitlist_appointment_type_id_appointment_types"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"], ["locations.id"], name=op.f("fk_waitlist_location_id_locations")
        ),
        sa.ForeignKeyConstraint(
            ["offered_appointment_id"],
            ["appointments.id"],
            name=op.f("fk_waitlist_offered_appointment_id_appointments"),
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_waitlist_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_waitlist_practitioner_id_practitioners"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist")),
    )
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waitlist_open", ["status", "appointment_type_id", "priority"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_waitlist_patient_id"), ["patient_id"], unique=False)
    _no_double_booking()


HOLDING = "('proposed', 'pending', 'booked', 'arrived', 'checked-in', 'fulfilled')"


def _no_double_booking() -> None:
    """PostgreSQL refuses overlapping held time for a practitioner, a room or a patient, so
    two concurrent bookings can never both commit. (SQLite serialises writers instead.)"""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column, until in (
        ("practitioner", "practitioner_id", "held_until"),
        ("room", "room_id", "held_until"),
        ("patient", "patient_id", "ends_at"),
    ):
        op.execute(
            f"ALTER TABLE appointments ADD CONSTRAINT ex_appointments_{name}_overlap "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, {until}, '[)') WITH &&) "
            f"WHERE (status IN {HOLDING} AND {column} IS NOT NULL)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("practitioner", "room", "patient"):
            op.execute(f"ALTER TABLE appointments DROP CONSTRAINT ex_appointments_{name}_overlap")
    with op.batch_alter_table("waitlist", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_patient_id"))
        batch_op.drop_index("ix_waitlist_open")

    op.drop_table("waitlist")
    with op.batch_alter_table("appointment_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_reminders_appointment_id"))

    op.drop_table("appointment_reminders")
    with op.batch_alter_table("delivery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_attempts_message_id"))

    op.drop_table("delivery_attempts")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index("ix_appointments_room_time")
        batch_op.drop_index("ix_appointments_practitioner_time")
        batch_op.drop_index("ix_appointments_patient_time")
        batch_op.drop_index("ix_appointments_location_time")

    op.drop_table("appointments")
    with op.batch_alter_table("time_off", schema=None) as batch_op:
        batch_op.drop_index("ix_time_off_practitioner_time")

    op.drop_table("time_off")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_queue_open")
        batch_op.drop_index(batch_op.f("ix_tasks_patient_id"))
        batch_op.drop_index("ix_tasks_owner_open")
        batch_op.drop_index("ix_tasks_focus")

    op.drop_table("tasks")
    op.drop_table("practitioner_offerings")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_patient_id"))
        batch_op.drop_index("ix_outbox_due")

    op.drop_table("outbox")
    with op.batch_alter_table("availability_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_availability_rules_practitioner_id"))

    op.drop_table("availability_rules")
    with op.batch_alter_table("appointment_series", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_series_patient_id"))

    op.drop_table("appointment_series")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rooms_location_id"))

    op.drop_table("rooms")
    op.drop_table("practitioners")
    op.drop_table("clinic_holidays")
    op.drop_table("locations")
    op.drop_table("appointment_types")
