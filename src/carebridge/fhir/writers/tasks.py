"""Task through the tasks service (the same checks as the task's screen: a cancel needs
its reason)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.tasks import task_values_from_fhir
from carebridge.fhir.writers.common import Warnings, validated
from carebridge.lib.time import as_utc
from carebridge.security.audit import Actor
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.schemas import TaskCreate, TaskUpdate

_TASK_CHANGES = (
    "status",
    "reason",
    "business_status",
    "priority",
    "due_at",
    "title",
    "description",
    "queue",
)
_TASK_FIXED = ("patient_id", "focus_type", "focus_id", "kind")


def create_task(
    db: Session, actor: Actor, resource: Mapping[str, Any], settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    values, warnings = task_values_from_fhir(resource)
    for key in ("status", "reason"):
        if values.pop(key, None) not in (None, "requested", "ready"):
            warnings.append(f"Task.{key}: a new task starts open; change it with an update")
    data = validated(TaskCreate, values, "Task")
    return tasks.create_by_hand(db, actor, data, zone=settings.timezone).id, warnings


def update_task(
    db: Session, actor: Actor, task_id: uuid.UUID, resource: Mapping[str, Any], _settings: Settings
) -> Warnings:
    task = db.get(Task, task_id)
    if task is None:
        raise FhirError(404, "not-found", f"No Task with id {task_id}")
    values, warnings = task_values_from_fhir(resource)
    for key in _TASK_FIXED:
        if key in values and values[key] != getattr(task, key):
            warnings.append(f"Task: {key.replace('_', ' ')} cannot change; make a new task")
    current = {key: getattr(task, key, None) for key in _TASK_CHANGES}
    if current["due_at"] is not None:
        current["due_at"] = as_utc(current["due_at"])
    change = {
        key: values[key]
        for key in _TASK_CHANGES
        if key in values
        and (as_utc(values[key]) if key == "due_at" else values[key]) != current.get(key)
    }
    if change:
        tasks.update(
            db, actor, task_id, validated(TaskUpdate, {**change, "version": task.version}, "Task")
        )
    return warnings
