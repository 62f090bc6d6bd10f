"""Use cases of registries: list them with their counts, save and change them, list the
patients in one (sorted, paged, with why), export them, and raise a task for each of the
chosen patients.

Membership is computed live by ``kinds.find`` (a few set queries); the patients' names and
coordinators are then read in chunks of ids. The list of registries only counts, in the
database where the kind's rule is SQL (``kinds.count``). Reads of a list are audited one row
per patient shown, written in one INSERT (``audit.deferred``).

A bulk task run raises at most ``BULK_LIMIT`` tasks (the rest wait for the next run, which
skips those already given one) and tells each assignee once, with a summary.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.analytics.export import Table
from carebridge.lib.batches import chunked
from carebridge.lib.errors import NotFound, ValidationFailed, check_version
from carebridge.lib.time import age_on
from carebridge.patients.models import Patient
from carebridge.registries import kinds
from carebridge.registries.models import Registry, RegistryTask
from carebridge.security.audit import Action, Actor, deferred, record
from carebridge.security.models import User
from carebridge.security.roles import Role
from carebridge.settings import Settings
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task
from carebridge.tasks.notifications import notify
from carebridge.tasks.schemas import TaskCreate

SORTS = ("name", "mrn", "age", "coordinator", "why")
ENTITY = "Registry"
BULK_LIMIT = 500  # tasks raised in one run (said on the form)


def context(settings: Settings, today: dt.date | None = None) -> kinds.Context:
    zone = settings.timezone
    return kinds.Context(today or dt.datetime.now(ZoneInfo(zone)).date(), zone)


# --- the registries --------------------------------------------------------------------------


def get(db: Session, registry_id: uuid.UUID) -> Registry:
    registry = db.get(Registry, registry_id)
    if registry is None:
        raise NotFound(f"No registry with id {registry_id}")
    return registry


def all_registries(db: Session) -> list[Registry]:
    return list(db.scalars(select(Registry).order_by(Registry.archived, Registry.name)))


def members(db: Session, ctx: kinds.Context, registry: Registry) -> dict[uuid.UUID, kinds.Why]:
    return kinds.find(db, ctx, registry.kind, registry.parameters)


def counts(db: Session, ctx: kinds.Context) -> list[tuple[Registry, int | None]]:
    """Every registry with its count now (None for an archived one: not computed)."""
    return [
        (r, None if r.archived else kinds.count(db, ctx, r.kind, r.parameters))
        for r in all_registries(db)
    ]


def coordinators(db: Session) -> list[tuple[str, str]]:
    """Active coordinators, for the coordinator filter."""
    return [
        (str(uid), name)
        for uid, name in db.execute(
            select(User.id, User.display_name)
            .where(User.role == Role.COORDINATOR.value, User.is_active.is_(True))
            .order_by(User.display_name)
        )
    ]


@dataclass(frozen=True)
class Draft:
    """A registry as typed on the form."""

    name: str
    kind: str
    description: str
    typed: Mapping[str, Any]


def _check(db: Session, draft: Draft, registry_id: uuid.UUID | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    name = draft.name.strip()
    if not name:
        errors["name"] = "Enter a name for the registry."
    elif len(name) > 120:
        errors["name"] = "Use at most 120 characters."
    else:
        same = db.scalar(select(Registry.id).where(Registry.name == name))
        if same is not None and same != registry_id:
            errors["name"] = f"A registry is already called “{name}”; choose another name."
    if len(draft.description) > 2000:
        errors["description"] = "Use at most 2000 characters."
    try:
        values = kinds.validate(draft.kind, draft.typed)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
        values = {}
    coordinator = values.get("coordinator_id")
    if coordinator and str(coordinator) not in dict(coordinators(db)):
        errors["coordinator_id"] = "Choose the coordinator from the list."
    if errors:
        raise ValidationFailed("Check the fields marked: " + ", ".join(errors) + ".", fields=errors)
    return values


def create(db: Session, actor: Actor, draft: Draft) -> Registry:
    values = _check(db, draft, None)
    registry = Registry(
        name=draft.name.strip(),
        kind=draft.kind,
        parameters=values,
        description=draft.description.strip() or None,
    )
    db.add(registry)
    db.flush()
    record(
        db, actor, Action.CREATE, entity_type=ENTITY, entity_id=registry.id, reason=registry.name
    )
    return registry


def update(
    db: Session,
    actor: Actor,
    registry_id: uuid.UUID,
    draft: Draft,
    *,
    version: int | None,
    archived: bool,
) -> Registry:
    """Change a registry's name, settings or archived flag (its kind stays), as read at
    ``version``: a change made to an older copy, or saying no version, is refused."""
    registry = get(db, registry_id)
    if version is None:
        raise ValidationFailed(
            "Say which version of the registry you changed (the form sends it); open the "
            "registry again and make your change. Nothing was saved.",
            fields={"version": "Open the registry again and make your change."},
        )
    check_version("This registry", registry.version, version)
    values = _check(
        db, Draft(draft.name, registry.kind, draft.description, draft.typed), registry.id
    )
    registry.name = draft.name.strip()
    registry.parameters = values
    registry.description = draft.description.strip() or None
    registry.archived = archived
    db.flush()
    record(
        db, actor, Action.UPDATE, entity_type=ENTITY, entity_id=registry.id, reason=registry.name
    )
    return registry


# --- the patients in one ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    patient_id: uuid.UUID
    name: str
    mrn: str
    birth_date: dt.date
    age: int
    coordinator: str
    why: kinds.Why


def rows(db: Session, ctx: kinds.Context, found: Mapping[uuid.UUID, kinds.Why]) -> list[Row]:
    """The members with what the list shows of each, read in chunks of ids."""
    people: list[tuple[uuid.UUID, str, str, str, dt.date, uuid.UUID | None]] = []
    ids = sorted(found)
    for chunk in chunked(ids):
        people.extend(
            db.execute(
                select(
                    Patient.id,
                    Patient.family_name,
                    Patient.given_names,
                    Patient.mrn,
                    Patient.birth_date,
                    Patient.primary_coordinator_id,
                ).where(Patient.id.in_(chunk))
            ).all()
        )
    staff = dict(
        db.execute(
            select(User.id, User.display_name).where(
                User.id.in_({p[5] for p in people if p[5] is not None})
            )
        ).all()
    )
    return [
        Row(
            pid,
            f"{family}, {given}",
            mrn,
            born,
            age_on(born, ctx.today)[0],
            staff.get(coordinator, "") if coordinator else "",
            found[pid],
        )
        for pid, family, given, mrn, born, coordinator in people
    ]


def ordered(found: list[Row], sort: str, descending: bool) -> list[Row]:
    def key(row: Row) -> tuple[Any, ...]:
        if sort == "mrn":
            return (row.mrn,)
        if sort == "age":
            return (row.age, row.name.lower())
        if sort == "coordinator":
            return (row.coordinator.lower(), row.name.lower())
        if sort == "why":  # no date (never done) first: the widest gap
            return (row.why.on or dt.date.min, row.name.lower())
        return (row.name.lower(), row.mrn)

    return sorted(found, key=key, reverse=descending)


def audit_shown(db: Session, actor: Actor, registry: Registry, shown: Iterable[uuid.UUID]) -> None:
    """One read record per patient shown, in one INSERT."""
    with deferred(db):
        for patient_id in shown:
            record(
                db,
                actor,
                Action.READ,
                entity_type=ENTITY,
                entity_id=registry.id,
                patient_id=patient_id,
                reason=f"Registry list: {registry.name}"[:200],
            )


def table(registry: Registry, found: Sequence[Row]) -> Table:
    """The list as an export: every member, with why."""
    kind = kinds.KINDS[registry.kind]
    return Table(
        registry.name,
        ("Patient", "MRN", "Date of birth", "Age", "Coordinator", *kind.columns, "Why"),
        [
            (r.name, r.mrn, r.birth_date, r.age, r.coordinator, *r.why.cells, r.why.said)
            for r in found
        ],
        [r.patient_id for r in found],
    )


# --- tasks for the patients in one ------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    created: int
    skipped: int  # an open task of that title from this registry exists
    gone: int  # chosen but no longer in the registry
    left: int = 0  # due a task but beyond this run's limit: the next run raises them


def open_tasks(
    db: Session, registry_id: uuid.UUID, title: str, patient_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Patients who already have an open task of ``title`` raised from the registry."""
    found: set[uuid.UUID] = set()
    for chunk in chunked(patient_ids):
        found.update(
            db.scalars(
                select(RegistryTask.patient_id)
                .join(Task, Task.id == RegistryTask.task_id)
                .where(
                    RegistryTask.registry_id == registry_id,
                    RegistryTask.title == title,
                    RegistryTask.patient_id.in_(chunk),
                    Task.is_open.is_(True),
                )
            )
        )
    return found


def _by_name(db: Session, patient_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """``patient_ids`` in the list's order (name, then MRN). Reading the charts here also
    puts them in the session, so the task service's check of each patient needs no query."""
    charts: list[Patient] = []
    for chunk in chunked(patient_ids):
        charts.extend(db.scalars(select(Patient).where(Patient.id.in_(chunk))))
    charts.sort(key=lambda p: (f"{p.family_name}, {p.given_names}".lower(), p.mrn))
    return [p.id for p in charts]


def bulk_tasks(
    db: Session,
    actor: Actor,
    ctx: kinds.Context,
    registry_id: uuid.UUID,
    chosen: Sequence[uuid.UUID] | None,
    template: TaskCreate,
    *,
    limit: int = BULK_LIMIT,
) -> BulkOutcome:
    """One task per chosen patient (``None``: every member), through the task service (its
    checks and audit); a patient with an open task of the same title from this registry is
    skipped, so running it twice creates nothing new. At most ``limit`` tasks are raised, in
    the list's order; the rest are counted in ``left`` for the next run. The assignee, when
    someone else, is told once: how many tasks, from which registry."""
    # Serialise bulk runs on one registry (PostgreSQL; SQLite has one writer anyway).
    registry = db.scalar(select(Registry).where(Registry.id == registry_id).with_for_update())
    if registry is None:
        raise NotFound(f"No registry with id {registry_id}")
    if registry.archived:
        raise ValidationFailed(
            "This registry is archived; restore it before raising tasks from it.",
            fields={"form": "The registry is archived."},
        )
    current = members(db, ctx, registry)
    wanted = sorted(current) if chosen is None else list(dict.fromkeys(chosen))
    if not wanted:
        raise ValidationFailed(
            "Choose at least one patient, or tick “all in this registry”.",
            fields={"patients": "Choose at least one patient."},
        )
    title = (template.title or "").strip()
    inside = [p for p in wanted if p in current]
    already = open_tasks(db, registry.id, title, inside)
    due = _by_name(db, [p for p in inside if p not in already])
    run = due[:limit]
    created = 0
    with deferred(db):
        for patient_id in run:
            data = template.model_copy(update={"patient_id": patient_id, "title": title})
            task = tasks.create_by_hand(db, actor, data, zone=ctx.zone, notify_owner=False)
            db.add(
                RegistryTask(
                    registry_id=registry.id, patient_id=patient_id, task_id=task.id, title=title
                )
            )
            created += 1
        db.flush()
    owner = template.owner_id
    if created and owner is not None and owner != actor.user_id:
        notify(
            db,
            owner,
            f"{actor.username} gave you {created} task{'s' if created != 1 else ''} from the "
            f"registry {registry.name}: {title}",
            link="/",
        )
    return BulkOutcome(created, len(already), len(wanted) - len(inside), len(due) - len(run))
