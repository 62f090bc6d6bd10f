"""Registries: saved population queries (care gaps) and the tasks raised from them, with
the three built-in registries.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-27
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# The built-in registries: id, builtin_key, name, kind (a key of
# carebridge.registries.kinds.KINDS), parameters and description. Only this migration holds
# them: it keeps its own copy of the kinds' defaults as they were when written, so later code
# changes do not change what it inserts.
BUILTINS = (
    (
        "8c5e3d1e-2f4a-5b6c-9d7e-0a1b2c3d4e01",
        "diabetes-a1c",
        "Diabetes: HbA1c overdue or above 9 %",
        "diabetes-a1c",
        {"months": 6, "above": 9.0},
        "Patients with active diabetes (ICD-10-CM E10, E11, E13) and no HbA1c in the last "
        "6 months, or a last HbA1c above 9 %.",
    ),
    (
        "8c5e3d1e-2f4a-5b6c-9d7e-0a1b2c3d4e02",
        "no-pcp-visit",
        "No primary care visit in 12 months",
        "no-pcp-visit",
        {"months": 12},
        "Active patients without a completed visit with a family or internal medicine "
        "practitioner in the last 12 months.",
    ),
    (
        "8c5e3d1e-2f4a-5b6c-9d7e-0a1b2c3d4e03",
        "high-risk-no-plan",
        "High risk without a care plan",
        "high-risk-no-plan",
        {"months": 12, "stays": 2, "lace": 10},
        "Patients with 2 or more hospital or emergency stays in 12 months, or a LACE score "
        "of 10 or more, and no active care plan.",
    ),
)


def upgrade() -> None:
    """The tables of registries, and the built-ins."""
    registries = op.create_table(
        "registries",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("builtin_key", sa.String(length=32), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registries")),
        sa.UniqueConstraint("builtin_key", name=op.f("uq_registries_builtin_key")),
        sa.UniqueConstraint("name", name=op.f("uq_registries_name")),
    )
    op.create_table(
        "registry_tasks",
        sa.Column("registry_id", sa.Uuid(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_registry_tasks_patient_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["registry_id"],
            ["registries.id"],
            name=op.f("fk_registry_tasks_registry_id_registries"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_registry_tasks_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_tasks")),
        sa.UniqueConstraint("task_id", name=op.f("uq_registry_tasks_task_id")),
    )
    with op.batch_alter_table("registry_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registry_tasks_registry_patient", ["registry_id", "patient_id"], unique=False
        )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(
        registries,
        [
            {
                "id": uuid.UUID(pk),
                "builtin_key": key,
                "name": name,
                "kind": kind,
                "parameters": parameters,
                "description": description,
                "archived": False,
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for pk, key, name, kind, parameters, description in BUILTINS
        ],
    )


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("registry_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_registry_tasks_registry_patient")
    op.drop_table("registry_tasks")
    op.drop_table("registries")
