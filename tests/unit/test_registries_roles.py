"""Raising tasks from a registry is guarded by registries:manage alone: every role that holds
it must also work tasks (the registry screens check nothing else)."""

from __future__ import annotations

from carebridge.security.roles import ROLE_PERMISSIONS, Permission


def test_every_registry_manager_works_tasks() -> None:
    managers = [
        role for role, held in ROLE_PERMISSIONS.items() if Permission.REGISTRY_MANAGE in held
    ]
    assert managers  # someone manages registries
    for role in managers:
        assert Permission.TASK_WORK in ROLE_PERMISSIONS[role], role
