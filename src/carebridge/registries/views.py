"""The screens of registries: the registries with their counts, a registry's form (new and
edit, errors beside the fields), the patients in one (sorted, paged, with why; exported as
CSV or XLSX) and raising a task for each chosen patient.

Pages only: every use case is a call into ``registries.service``; writes run in a savepoint,
so a refused one leaves nothing and the page comes back with what was typed.
"""

from __future__ import annotations

import math
import uuid
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from carebridge.analytics.export import download
from carebridge.lib.errors import AppError
from carebridge.patients import views as chart_views
from carebridge.registries import kinds, service
from carebridge.registries.models import Registry
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.tasks import forms as task_forms
from carebridge.tasks.codes import KINDS as TASK_KINDS
from carebridge.tasks.codes import PRIORITY_WORDS
from carebridge.tasks.schemas import TaskCreate
from carebridge.web.render import go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Viewer = Annotated[Actor, Depends(Require(Permission.QUALITY_VIEW))]
Manager = Annotated[Actor, Depends(Require(Permission.REGISTRY_MANAGE))]
Posted = chart_views.Posted

PAGE_SIZE = 50
ACTIVE = "quality"


def _text(form: Any, name: str) -> str:
    return task_forms.form_text(form, name)


def _ctx(request: Request) -> kinds.Context:
    return service.context(settings_of(request))


# --- the registries --------------------------------------------------------------------------


@router.get("/registries")
def registries_page(request: Request, db: Db, actor: Viewer) -> Response:
    listed = service.counts(db, _ctx(request))
    return render(
        request,
        "registries/index.html",
        {"listed": listed, "kinds": kinds.KINDS},
        active=ACTIVE,
    )


def _form_page(
    request: Request,
    db: Session,
    kind: str,
    form: dict[str, Any],
    errors: dict[str, str],
    registry: Registry | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "registries/form.html",
        {
            "kind": kinds.KINDS[kind],
            "kinds": kinds.KINDS,
            "filters": kinds.FILTERS,
            "form": form,
            "errors": errors,
            "registry": registry,
            "coordinator_options": [("", "Any coordinator"), *service.coordinators(db)],
        },
        active=ACTIVE,
        status_code=status_code,
    )


def _shown(value: Any) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _typed(form: Any, kind: kinds.Kind) -> dict[str, str]:
    names = ["name", "description", "coordinator_id", "version", "archived"]
    names += [p.name for p in (*kind.params, *kinds.FILTERS)]
    return {n: _text(form, n) for n in names}


@router.get("/registries/new")
def new_page(request: Request, db: Db, actor: Manager, kind: str = "") -> Response:
    chosen = kind if kind in kinds.KINDS else next(iter(kinds.KINDS))
    form = {k: _shown(v) for k, v in kinds.defaults(chosen).items()}
    return _form_page(request, db, chosen, form, {})


@router.post("/registries/new", dependencies=[Csrf])
def create_registry(request: Request, db: Db, actor: Manager, form: Posted) -> Response:
    kind = _text(form, "kind")
    if kind not in kinds.KINDS:
        form_kind = next(iter(kinds.KINDS))
        errors = {"kind": "Choose the kind of registry from the list."}
        return _form_page(request, db, form_kind, {}, errors, status_code=422)
    typed = _typed(form, kinds.KINDS[kind])
    draft = service.Draft(typed["name"], kind, typed["description"], typed)
    try:
        with db.begin_nested():
            registry = service.create(db, actor, draft)
    except AppError as exc:
        errors = chart_views.app_errors(exc)
        return _form_page(request, db, kind, typed, errors, status_code=exc.status)
    return go_back(request, f"/registries/{registry.id}", f"Registry saved: {registry.name}.")


@router.get("/registries/{registry_id}/edit")
def edit_page(request: Request, db: Db, actor: Manager, registry_id: uuid.UUID) -> Response:
    registry = service.get(db, registry_id)
    form = {
        k: _shown(v) for k, v in {**kinds.defaults(registry.kind), **registry.parameters}.items()
    }
    form.update(
        name=registry.name,
        description=registry.description or "",
        version=str(registry.version),
        archived="yes" if registry.archived else "",
    )
    return _form_page(request, db, registry.kind, form, {}, registry)


@router.post("/registries/{registry_id}/edit", dependencies=[Csrf])
def edit_registry(
    request: Request, db: Db, actor: Manager, registry_id: uuid.UUID, form: Posted
) -> Response:
    registry = service.get(db, registry_id)
    typed = _typed(form, kinds.KINDS[registry.kind])
    draft = service.Draft(typed["name"], registry.kind, typed["description"], typed)
    version = int(typed["version"]) if typed["version"].isdigit() else None
    try:
        with db.begin_nested():
            service.update(
                db, actor, registry_id, draft, version=version, archived=bool(typed["archived"])
            )
    except AppError as exc:
        errors = chart_views.app_errors(exc)
        if "version" in errors:  # a hidden field: said at the top of the form
            errors["form"] = errors.pop("version")
        return _form_page(request, db, registry.kind, typed, errors, registry, exc.status)
    return go_back(request, f"/registries/{registry_id}", "Registry saved.")


# --- the patients in one ---------------------------------------------------------------------


def _list_page(
    request: Request,
    db: Session,
    actor: Actor,
    registry: Registry,
    *,
    page: int,
    sort: str,
    order: str,
    task_form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _ctx(request)
    sort = sort if sort in service.SORTS else "name"
    descending = order == "desc"
    listed = service.ordered(
        service.rows(db, ctx, service.members(db, ctx, registry)), sort, descending
    )
    pages = max(1, math.ceil(len(listed) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = listed[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    service.audit_shown(db, actor, registry, [r.patient_id for r in shown])
    # Every role that manages registries also works tasks (tests/unit/test_registries_roles.py).
    can_task = allows(actor.role, Permission.REGISTRY_MANAGE)
    return render(
        request,
        "registries/show.html",
        {
            "registry": registry,
            "kind": kinds.KINDS[registry.kind],
            "settings_said": _settings_said(db, registry),
            "rows": shown,
            "total": len(listed),
            "page": page,
            "pages": pages,
            "sort": sort,
            "order": "desc" if descending else "asc",
            "query": urlencode({"sort": sort, "order": "desc" if descending else "asc"}),
            "can_task": can_task,
            "can_manage": can_task,
            "bulk_limit": service.BULK_LIMIT,
            "task_form": task_form or {"kind": "outreach", "priority": "routine"},
            "errors": errors or {},
            "assign_options": task_forms.assign_options(db, actor) if can_task else [],
            "priority_options": list(PRIORITY_WORDS.items()),
            "kind_options": list(TASK_KINDS.items()),
        },
        active=ACTIVE,
        status_code=status_code,
    )


def _settings_said(db: Session, registry: Registry) -> list[str]:
    kind = kinds.KINDS[registry.kind]
    values = {**kinds.defaults(registry.kind), **registry.parameters}
    said = [f"{p.label}: {_shown(values.get(p.name)) or 'not used'}" for p in kind.params]
    if values.get("coordinator_id"):
        names = dict(service.coordinators(db))
        said.append(f"Coordinator: {names.get(str(values['coordinator_id']), 'inactive user')}")
    if values.get("age_min") is not None or values.get("age_max") is not None:
        low, high = values.get("age_min"), values.get("age_max")
        said.append(
            f"Age: {low if low is not None else 0} to {high if high is not None else 'any'}"
        )
    return said


@router.get("/registries/{registry_id}")
def registry_page(
    request: Request,
    db: Db,
    actor: Viewer,
    registry_id: uuid.UUID,
    page: int = 1,
    sort: str = "name",
    order: str = "asc",
) -> Response:
    registry = service.get(db, registry_id)
    return _list_page(request, db, actor, registry, page=page, sort=sort, order=order)


@router.get("/registries/{registry_id}/export")
def export_registry(
    request: Request, db: Db, actor: Viewer, registry_id: uuid.UUID, format: str = "csv"
) -> Response:
    registry = service.get(db, registry_id)
    ctx = _ctx(request)
    listed = service.ordered(
        service.rows(db, ctx, service.members(db, ctx, registry)), "name", False
    )
    return download(
        db,
        actor,
        service.table(registry, listed),
        format,
        entity_type="Registry",
        reason=f"Registry export: {registry.name}"[:200],
    )


@router.post("/registries/{registry_id}/tasks", dependencies=[Csrf])
def create_tasks(
    request: Request, db: Db, actor: Manager, registry_id: uuid.UUID, form: Posted
) -> Response:
    registry = service.get(db, registry_id)
    typed: dict[str, Any] = dict(task_forms.typed_in(form))
    every = bool(typed.get("all"))
    chosen = [p for v in form.getlist("patient") if (p := task_forms.as_uuid(str(v)))]
    typed["patient_list"] = [str(p) for p in chosen]
    ctx = _ctx(request)
    keep = {"page": 1, "sort": typed.get("sort", "name"), "order": typed.get("order", "asc")}
    try:
        data: dict[str, Any] = {
            "title": typed.get("title") or None,
            "kind": typed.get("kind") or None,
            "priority": typed.get("priority") or None,
            "description": typed.get("description") or None,
            "due_at": task_forms.local_due(typed.get("due_date", ""), "", ctx.zone),
        }
        data.update(task_forms.assignment(typed.get("assign", "")) if typed.get("assign") else {})
        template = TaskCreate.model_validate(data)
        with db.begin_nested():
            outcome = service.bulk_tasks(
                db, actor, ctx, registry.id, None if every else chosen, template
            )
    except ValidationError as exc:
        errors = task_forms.schema_errors(exc)
        if "form" in errors and "title" not in errors and not typed.get("title"):
            errors = {"title": "Enter a title for the tasks.", **errors}
            errors.pop("form", None)
        return _list_page(
            request, db, actor, registry, **keep, task_form=typed, errors=errors, status_code=422
        )
    except AppError as exc:
        errors = task_forms.service_errors(exc)
        return _list_page(
            request, db, actor, registry, **keep, task_form=typed, errors=errors,
            status_code=exc.status,
        )  # fmt: skip
    words = [f"{outcome.created} task{'s' if outcome.created != 1 else ''} created"]
    if outcome.skipped:
        words.append(f"{outcome.skipped} skipped (an open task of that title exists)")
    if outcome.gone:
        words.append(f"{outcome.gone} no longer in the registry")
    if outcome.left:
        words.append(
            f"{outcome.left} more due one: at most {service.BULK_LIMIT} are raised at a time, "
            "so press Create tasks again for the next ones"
        )
    return go_back(request, f"/registries/{registry.id}", "; ".join(words) + ".")
