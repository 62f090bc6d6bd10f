"""Care teams, barriers, care plans with goals and activities; the worklist's task columns,
queues, comments, escalations, outreach attempts and notifications.

Existing tasks get their kind, open flag, urgency and (where missing) a due time three days
after they were raised, so every task has a deadline the worklist can sort on.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = ("draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold")
PRIORITIES = ("stat", "asap", "urgent", "routine")


def upgrade() -> None:
    op.create_table(
        "work_queues",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("supervisor_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["users.id"], name=op.f("fk_work_queues_supervisor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_queues")),
        sa.UniqueConstraint("code", name=op.f("uq_work_queues_code")),
    )
    op.create_table(
        "barriers",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("identified_on", sa.Date(), nullable=False),
        sa.Column("resolved_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_barriers_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_barriers")),
    )
    with op.batch_alter_table("barriers", schema=None) as batch_op:
        batch_op.create_index("ix_barriers_patient_status", ["patient_id", "status"], unique=False)

    op.create_table(
        "care_plans",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("template_key", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("review_every_days", sa.Integer(), nullable=True),
        sa.Column("next_review_on", sa.Date(), nullable=True),
        sa.Column("last_reviewed_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_care_plans_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plans")),
    )
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.create_index("ix_care_plans_patient", ["patient_id", "status"], unique=False)
        batch_op.create_index("ix_care_plans_review", ["status", "next_review_on"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("link", sa.String(length=300), nullable=True),
        sa.Column("patient_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_notifications_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notifications_user_unread", ["user_id", "read_at", "created_at"], unique=False
        )

    op.create_table(
        "queue_members",
        sa.Column("queue_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["queue_id"], ["work_queues.id"], name=op.f("fk_queue_members_queue_id_work_queues")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_queue_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_members")),
        sa.UniqueConstraint("queue_id", "user_id", name="uq_queue_members_user"),
    )
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "care_plan_problems",
        sa.Column("care_plan_id", sa.Uuid(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=True),
        sa.Column("plain_words", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plans.id"],
            name=op.f("fk_care_plan_problems_care_plan_id_care_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_problems")),
    )
    with op.batch_alter_table("care_plan_problems", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_plan_problems_care_plan_id"), ["care_plan_id"], unique=False
        )

    op.create_table(
        "care_team_members",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("member_kind", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("related_person_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("organization", sa.String(length=200), nullable=True),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_care_team_members_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["related_person_id"],
            ["related_persons.id"],
            name=op.f("fk_care_team_members_related_person_id_related_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_care_team_members_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team_members")),
    )
    with op.batch_alter_table("care_team_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_team_members_patient", ["patient_id", "end_on"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_care_team_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "outreach_attempts",
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("contact_name", sa.String(length=150), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("next_attempt_on", sa.Date(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_outreach_attempts_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_outreach_attempts_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_attempts")),
    )
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_attempts_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            "ix_outreach_patient_when", ["patient_id", "occurred_at"], unique=False
        )

    op.create_table(
        "task_comments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_comments_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    with op.batch_alter_table("task_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_comments_task_id"), ["task_id"], unique=False)

    op.create_table(
        "task_escalations",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("rule_key", sa.String(length=64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_priority", sa.String(length=8), nullable=False),
        sa.Column("to_priority", sa.String(length=8), nullable=False),
        sa.Column("from_owner_id", sa.Uuid(), nullable=True),
        sa.Column("to_queue", sa.String(length=64), nullable=True),
        sa.Column("notified_user_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_escalations_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_escalations")),
        sa.UniqueConstraint("task_id", "rule_key", name="uq_task_escalations_rule"),
    )
    with op.batch_alter_table("task_escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_task_escalations_task_id"), ["task_id"], unique=False)

    op.create_table(
        "goals",
        sa.Column("care_plan_id", sa.Uuid(), nullable=False),
        sa.Column("problem_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("plain_words", sa.Text(), nullable=True),
        sa.Column("measure", sa.String(length=80), nullable=True),
        sa.Column("unit", sa.String(length=24), nullable=True),
        sa.Column("comparator", sa.String(length=8), nullable=True),
        sa.Column("target_low", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("target_high", sa.Numeric(precision=12, scale=3), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("lifecycle_status", sa.String(length=16), nullable=False),
        sa.Column("achievement_status", sa.String(length=16), nullable=False),
        sa.Column("achievement_set_on", sa.Date(), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["care_plan_id"], ["care_plans.id"], name=op.f("fk_goals_care_plan_id_care_plans")
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["care_plan_problems.id"],
            name=op.f("fk_goals_problem_id_care_plan_problems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goals")),
    )
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goals_care_plan_id"), ["care_plan_id"], unique=False)
        batch_op.create_index("ix_goals_due", ["lifecycle_status", "due_on"], unique=False)

    op.create_table(
        "care_plan_activities",
        sa.Column("care_plan_id", sa.Uuid(), nullable=False),
        sa.Column("goal_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("plain_words", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("link_type", sa.String(length=32), nullable=True),
        sa.Column("link_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["care_plan_id"],
            ["care_plans.id"],
            name=op.f("fk_care_plan_activities_care_plan_id_care_plans"),
        ),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_care_plan_activities_goal_id_goals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan_activities")),
    )
    with op.batch_alter_table("care_plan_activities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_care_plan_activities_care_plan_id"), ["care_plan_id"], unique=False
        )
        batch_op.create_index(
            "ix_care_plan_activities_link", ["link_type", "link_id"], unique=False
        )

    op.create_table(
        "goal_measurements",
        sa.Column("goal_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"], ["goals.id"], name=op.f("fk_goal_measurements_goal_id_goals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_measurements")),
    )
    with op.batch_alter_table("goal_measurements", schema=None) as batch_op:
        batch_op.create_index("ix_goal_measurements_goal", ["goal_id", "measured_on"], unique=False)

    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(32), nullable=False, server_default="general")
        )
        batch_op.add_column(
            sa.Column("is_open", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("urgency", sa.SmallInteger(), nullable=False, server_default="3")
        )
        batch_op.add_column(
            sa.Column("risk", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("template_key", sa.String(64), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.SmallInteger(), nullable=False, server_default="0")
        )
    tasks = sa.table(
        "tasks",
        sa.column("id", sa.Uuid),
        sa.column("status", sa.String),
        sa.column("priority", sa.String),
        sa.column("is_open", sa.Boolean),
        sa.column("urgency", sa.SmallInteger),
        sa.column("due_at", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    op.execute(tasks.update().values(is_open=tasks.c.status.in_(OPEN)))
    for rank, priority in enumerate(PRIORITIES):
        op.execute(tasks.update().where(tasks.c.priority == priority).values(urgency=rank))
    late = sa.select(tasks.c.id, tasks.c.created_at).where(tasks.c.due_at.is_(None))
    for row in op.get_bind().execute(late).all():
        op.execute(
            tasks.update()
            .where(tasks.c.id == row.id)
            .values(due_at=row.created_at + dt.timedelta(days=3))
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        for name in ("kind", "is_open", "urgency", "risk", "escalation_level"):
            batch_op.alter_column(name, server_default=None)
        batch_op.alter_column("due_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_index("ix_tasks_owner_open")
        batch_op.drop_index("ix_tasks_patient_id")
        batch_op.drop_index("ix_tasks_queue_open")
        batch_op.create_index("ix_tasks_patient_open", ["patient_id", "is_open"])
    # Partial indexes, made after the batch (SQLite's batch mode copies the table). Their
    # predicates are the ones the worklist and the worker state.
    op.create_index(
        "ix_tasks_owner_worklist",
        "tasks",
        ["owner_id", "is_open", "urgency", "due_at", "status", "kind"],
    )
    op.create_index(
        "ix_tasks_queue_unclaimed",
        "tasks",
        ["queue", "urgency", "due_at", "status", "kind"],
        sqlite_where=sa.text("owner_id IS NULL AND is_open = 1"),
        postgresql_where=sa.text("owner_id IS NULL AND is_open = true"),
    )
    op.create_index(
        "ix_tasks_open_due",
        "tasks",
        ["due_at"],
        sqlite_where=sa.text("is_open = 1"),
        postgresql_where=sa.text("is_open = true"),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_queue_unclaimed", table_name="tasks")
    op.drop_index("ix_tasks_owner_worklist", table_name="tasks")
    op.drop_index("ix_tasks_open_due", table_name="tasks")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_patient_open")
        batch_op.create_index(
            batch_op.f("ix_tasks_queue_open"), ["queue", "status", "due_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tasks_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_tasks_owner_open"), ["owner_id", "status", "due_at"], unique=False
        )
        batch_op.alter_column("due_at", existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("template_key")
        batch_op.drop_column("risk")
        batch_op.drop_column("urgency")
        batch_op.drop_column("is_open")
        batch_op.drop_column("kind")

    with op.batch_alter_table("goal_measurements", schema=None) as batch_op:
        batch_op.drop_index("ix_goal_measurements_goal")

    op.drop_table("goal_measurements")
    with op.batch_alter_table("care_plan_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_care_plan_activities_link")
        batch_op.drop_index(batch_op.f("ix_care_plan_activities_care_plan_id"))

    op.drop_table("care_plan_activities")
    with op.batch_alter_table("goals", schema=None) as batch_op:
        batch_op.drop_index("ix_goals_due")
        batch_op.drop_index(batch_op.f("ix_goals_care_plan_id"))

    op.drop_table("goals")
    with op.batch_alter_table("task_escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_escalations_task_id"))

    op.drop_table("task_escalations")
    with op.batch_alter_table("task_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_comments_task_id"))

    op.drop_table("task_comments")
    with op.batch_alter_table("outreach_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_patient_when")
        batch_op.drop_index(batch_op.f("ix_outreach_attempts_task_id"))

    op.drop_table("outreach_attempts")
    with op.batch_alter_table("care_team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_team_members_user_id"))
        batch_op.drop_index("ix_care_team_members_patient")

    op.drop_table("care_team_members")
    with op.batch_alter_table("care_plan_problems", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_care_plan_problems_care_plan_id"))

    op.drop_table("care_plan_problems")
    with op.batch_alter_table("queue_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_members_user_id"))

    op.drop_table("queue_members")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_unread")

    op.drop_table("notifications")
    with op.batch_alter_table("care_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_care_plans_review")
        batch_op.drop_index("ix_care_plans_patient")

    op.drop_table("care_plans")
    with op.batch_alter_table("barriers", schema=None) as batch_op:
        batch_op.drop_index("ix_barriers_patient_status")

    op.drop_table("barriers")
    op.drop_table("work_queues")
