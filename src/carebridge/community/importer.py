"""Putting an HSDS :class:`~carebridge.community.hsds.Dataset` into the directory.

All or nothing: every problem the reader found, and every one only the database can show
(a service whose organization is in neither the data nor the directory, a service status
HSDS does not know, coordinates that are not numbers), is reported together as one 422
naming file, line and field, before a single row is written. A re-import updates rows by
their HSDS id and adds what is new; it removes nothing (a feed may carry a part of a
directory), except the weekly openings of a schedule that no longer lists a day.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carebridge.community import codes, hsds
from carebridge.community.hsds import Dataset, Problem, Row
from carebridge.community.models import (
    ResourceLanguage,
    ResourceLocation,
    ResourceOrganization,
    ResourcePhone,
    ResourceSchedule,
    ResourceService,
    ResourceServiceLocation,
)
from carebridge.lib.errors import ValidationFailed
from carebridge.security.audit import Action, Actor, record

MAX_PROBLEMS_SHOWN = 50
T = TypeVar(
    "T",
    ResourceOrganization,
    ResourceService,
    ResourceLocation,
    ResourceServiceLocation,
    ResourcePhone,
    ResourceLanguage,
)


@dataclass
class ImportSummary:
    files: list[str]
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    skipped_schedules: int = 0

    def words(self) -> str:
        parts = [
            f"{self.created.get(k, 0)} new and {self.updated.get(k, 0)} updated {k}"
            for k in ("organizations", "services", "locations")
        ]
        return "; ".join(parts) + "."


def refuse(problems: list[Problem]) -> ValidationFailed:
    shown = problems[:MAX_PROBLEMS_SHOWN]
    more = len(problems) - len(shown)
    listed = "; ".join(str(p) for p in shown) + (f"; and {more} more" if more > 0 else "")
    return ValidationFailed(
        f"The HSDS data has {len(problems)} problem(s); nothing was imported. {listed}",
        fields={"file": f"{len(problems)} problem(s) in the data; nothing was imported."},
        extra={
            "problems": [
                {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
                for p in problems
            ]
        },
    )


def _float(row: Row, name: str, low: float, high: float, problems: list[Problem]) -> float | None:
    text = row.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        problems.append(Problem(row.file, row.line, name, f"“{text}” is not a number"))
        return None
    if not low <= value <= high:
        problems.append(Problem(row.file, row.line, name, f"{value} is outside {low}..{high}"))
        return None
    return value


def _known_ids(db: Session, model: Any, ids: set[str]) -> dict[str, uuid.UUID]:
    if not ids:
        return {}
    rows = db.execute(select(model.hsds_id, model.id).where(model.hsds_id.in_(list(ids))))
    return {str(hsds_id): row_id for hsds_id, row_id in rows}


def _check(db: Session, data: Dataset) -> list[Problem]:
    problems = list(data.problems)
    orgs_in_db = _known_ids(
        db,
        ResourceOrganization,
        {r.get("organization_id") for r in data.services.values()} - set(data.organizations),
    )
    for row in data.services.values():
        org = row.get("organization_id")
        if org and org not in data.organizations and org not in orgs_in_db:
            problems.append(
                Problem(
                    row.file,
                    row.line,
                    "organization_id",
                    f"“{org}” is in neither the data nor the directory",
                )
            )
        status = row.get("status").lower()
        if status and status not in hsds.SERVICE_STATUSES:
            problems.append(
                Problem(
                    row.file,
                    row.line,
                    "status",
                    f"“{status}” is not one of " + ", ".join(hsds.SERVICE_STATUSES),
                )
            )
    services_in_db = _known_ids(db, ResourceService, _refs(data, "service_id") - set(data.services))
    locations_in_db = _known_ids(
        db, ResourceLocation, _refs(data, "location_id") - set(data.locations)
    )
    for pool, name, known in (
        (data.phones, "service_id", services_in_db),
        (data.languages, "service_id", services_in_db),
        (data.phones, "location_id", locations_in_db),
        (data.languages, "location_id", locations_in_db),
    ):
        local = data.services if name == "service_id" else data.locations
        for row in pool.values():
            ref = row.get(name)
            if ref and ref not in local and ref not in known:
                problems.append(
                    Problem(
                        row.file,
                        row.line,
                        name,
                        f"“{ref}” is in neither the data nor the directory",
                    )
                )
    for row in data.locations.values():
        _float(row, "latitude", -90, 90, problems)
        _float(row, "longitude", -180, 180, problems)
    for opening in data.openings:
        for target, field_name, local, known in (
            (opening.service, "service_id", data.services, services_in_db),
            (opening.location, "location_id", data.locations, locations_in_db),
        ):
            if target and target not in local and target not in known:
                problems.append(
                    Problem(
                        opening.file,
                        opening.line,
                        field_name,
                        f"“{target}” is in neither the data nor the directory",
                    )
                )
    return problems


def _refs(data: Dataset, name: str) -> set[str]:
    found = {r.get(name) for pool in (data.phones, data.languages) for r in pool.values()}
    for opening in data.openings:
        found.add((opening.service if name == "service_id" else opening.location) or "")
    return {f for f in found if f}


class _Upsert:
    """Rows by HSDS id: the one in the directory (updated) or a new one."""

    def __init__(self, db: Session, summary: ImportSummary) -> None:
        self.db = db
        self.summary = summary

    def __call__(self, model: type[T], hsds_id: str, what: str, **values: Any) -> T:
        row = self.db.scalar(select(model).where(model.hsds_id == hsds_id))
        if row is None:
            row = model(hsds_id=hsds_id, **values)
            self.db.add(row)
            self.summary.created[what] = self.summary.created.get(what, 0) + 1
        else:
            changed = any(getattr(row, k) != v for k, v in values.items())
            for key, value in values.items():
                setattr(row, key, value)
            if changed:
                self.summary.updated[what] = self.summary.updated.get(what, 0) + 1
        return row


def _id_of(db: Session, model: Any, hsds_id: str | None) -> uuid.UUID | None:
    if not hsds_id:
        return None
    found: uuid.UUID | None = db.scalar(select(model.id).where(model.hsds_id == hsds_id))
    return found


def apply(db: Session, actor: Actor, data: Dataset) -> ImportSummary:
    """Check the data, then write it all (or raise naming every problem, writing nothing)."""
    problems = _check(db, data)
    if problems:
        raise refuse(problems)
    summary = ImportSummary(files=list(data.files), skipped_schedules=data.skipped)
    upsert = _Upsert(db, summary)
    for hsds_id, row in data.organizations.items():
        upsert(
            ResourceOrganization,
            hsds_id,
            "organizations",
            name=row.get("name")[:200],
            alternate_name=(row.opt("alternate_name") or "")[:200] or None,
            description=row.get("description"),
            email=row.opt("email"),
            website=row.opt("website") or row.opt("url"),
        )
    db.flush()
    for hsds_id, row in data.locations.items():
        address = data.addresses.get(hsds_id)
        upsert(
            ResourceLocation,
            hsds_id,
            "locations",
            organization_id=_id_of(db, ResourceOrganization, row.opt("organization_id")),
            name=row.opt("name"),
            description=row.opt("description"),
            address_1=address.opt("address_1") if address else row.opt("address_1"),
            city=address.opt("city") if address else row.opt("city"),
            state=address.opt("state_province") if address else row.opt("state_province"),
            postal_code=address.opt("postal_code") if address else row.opt("postal_code"),
            latitude=_float(row, "latitude", -90, 90, []),
            longitude=_float(row, "longitude", -180, 180, []),
        )
    for hsds_id, row in data.services.items():
        org_id = _id_of(db, ResourceOrganization, row.get("organization_id"))
        terms = data.terms.get(hsds_id, [])
        service = upsert(
            ResourceService,
            hsds_id,
            "services",
            organization_id=org_id,
            name=row.get("name")[:200],
            alternate_name=(row.opt("alternate_name") or "")[:200] or None,
            description=row.opt("description"),
            url=row.opt("url"),
            email=row.opt("email"),
            status=row.get("status").lower() or "active",
            taxonomy=[{"code": code, "name": name} for code, name in terms],
        )
        if not service.needs_by_hand:
            service.needs = codes.needs_from(terms, row.get("name"), row.get("description"))
    db.flush()
    for hsds_id, row in data.service_at_locations.items():
        upsert(
            ResourceServiceLocation,
            hsds_id,
            "service_at_location",
            service_id=_id_of(db, ResourceService, row.get("service_id")),
            location_id=_id_of(db, ResourceLocation, row.get("location_id")),
        )
    for hsds_id, row in data.phones.items():
        upsert(
            ResourcePhone,
            hsds_id,
            "phones",
            organization_id=_id_of(db, ResourceOrganization, row.opt("organization_id")),
            service_id=_id_of(db, ResourceService, row.opt("service_id")),
            location_id=_id_of(db, ResourceLocation, row.opt("location_id")),
            number=row.get("number")[:40],
            extension=(row.opt("extension") or "")[:10] or None,
            kind=(row.opt("type") or "")[:20] or None,
        )
    for hsds_id, row in data.languages.items():
        code = codes.language_code(row.opt("code"), row.opt("name") or row.opt("language"))
        upsert(
            ResourceLanguage,
            hsds_id,
            "languages",
            service_id=_id_of(db, ResourceService, row.opt("service_id")),
            location_id=_id_of(db, ResourceLocation, row.opt("location_id")),
            code=code,
            name=(row.opt("name") or row.opt("language") or codes.language_name(code))[:100],
        )
    _openings(db, data, summary)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="ResourceDirectory",
        reason=f"HSDS import: {summary.words()}"[:200],
    )
    return summary


def _openings(db: Session, data: Dataset, summary: ImportSummary) -> None:
    by_schedule: dict[str, set[int]] = {}
    for opening in data.openings:
        by_schedule.setdefault(opening.hsds_id, set()).add(opening.weekday)
        values = {
            "service_id": _id_of(db, ResourceService, opening.service),
            "location_id": _id_of(db, ResourceLocation, opening.location),
            "opens_at": opening.opens_at,
            "closes_at": opening.closes_at,
            "description": opening.description,
        }
        row = db.scalar(
            select(ResourceSchedule).where(
                ResourceSchedule.hsds_id == opening.hsds_id,
                ResourceSchedule.weekday == opening.weekday,
            )
        )
        if row is None:
            db.add(ResourceSchedule(hsds_id=opening.hsds_id, weekday=opening.weekday, **values))
            summary.created["schedules"] = summary.created.get("schedules", 0) + 1
        else:
            for key, value in values.items():
                setattr(row, key, value)
    for hsds_id, days in by_schedule.items():
        db.execute(
            delete(ResourceSchedule).where(
                ResourceSchedule.hsds_id == hsds_id, ResourceSchedule.weekday.not_in(days)
            )
        )


def import_path(db: Session, actor: Actor, path: Path) -> ImportSummary:
    """What ``carebridge resources import PATH`` runs: a folder or zip of HSDS CSV files,
    or an HSDS 3.0 JSON file."""
    return apply(db, actor, hsds.read_path(path))


def import_files(db: Session, actor: Actor, files: dict[str, bytes]) -> ImportSummary:
    return apply(db, actor, hsds.read_files(files))


def counts(db: Session) -> Counter[str]:
    """How many organizations, services and locations the directory holds."""
    found: Counter[str] = Counter()
    for what, model in (
        ("organizations", ResourceOrganization),
        ("services", ResourceService),
        ("locations", ResourceLocation),
    ):
        found[what] = db.scalar(select(func.count()).select_from(model)) or 0
    return found
