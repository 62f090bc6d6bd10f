"""Finding community services: by need domain, words (service or organization name and
description), language, open at a weekday and time (from the weekly schedules), and distance
from a point (haversine over the locations' coordinates; no geocoding service is called).

Reads of the directory are not patient data and are not audited; the patient's suggested
resources page audits its read of the patient's needs.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from carebridge.community import codes
from carebridge.community.models import (
    ResourceLanguage,
    ResourceLocation,
    ResourceOrganization,
    ResourcePhone,
    ResourceSchedule,
    ResourceService,
    ResourceServiceLocation,
)
from carebridge.lib.errors import NotFound

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
LIMIT = 50
DASH = "\N{EN DASH}"


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class When:
    """A weekday (1 = Monday ... 7 = Sunday) and a local wall-clock time."""

    weekday: int
    time: dt.time

    @classmethod
    def at(cls, moment: dt.datetime) -> When:
        return cls(moment.isoweekday(), moment.time().replace(second=0, microsecond=0))


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float
    label: str = ""


@dataclass(frozen=True)
class Place:
    id: uuid.UUID
    name: str | None
    address: str
    latitude: float | None
    longitude: float | None
    distance_km: float | None = None


@dataclass(frozen=True)
class Hours:
    weekday: int
    opens_at: dt.time
    closes_at: dt.time

    @property
    def day(self) -> str:
        return codes.WEEKDAYS[self.weekday]


@dataclass
class Hit:
    id: uuid.UUID
    hsds_id: str
    name: str
    description: str | None
    status: str
    organization_id: uuid.UUID
    organization: str
    needs: list[str]
    languages: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    hours: list[Hours] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    open_at: bool | None = None  # open at the asked time (None: not asked)
    url: str | None = None

    @property
    def hours_text(self) -> list[str]:
        return hours_summary(self.hours)

    @property
    def nearest(self) -> Place | None:
        return self.places[0] if self.places else None

    @property
    def distance_km(self) -> float | None:
        return self.places[0].distance_km if self.places else None


def _address(location: ResourceLocation) -> str:
    parts = [location.address_1, location.city, location.state, location.postal_code]
    return ", ".join(p for p in parts if p)


def search(
    db: Session,
    *,
    need: str | None = None,
    needs: Iterable[str] = (),
    q: str = "",
    language: str | None = None,
    open_at: When | None = None,
    near: Point | None = None,
    within_km: float | None = None,
    limit: int = LIMIT,
    include_inactive: bool = False,
) -> list[Hit]:
    """Services matching every filter given. With ``near``: nearest first (services with no
    known coordinates last), else by name. ``needs``: any of them (the patient's needs)."""
    wanted = {n for n in (*needs, *([need] if need else [])) if n}
    query = select(ResourceService, ResourceOrganization).join(
        ResourceOrganization, ResourceOrganization.id == ResourceService.organization_id
    )
    if not include_inactive:
        query = query.where(ResourceService.status == "active")
    text = q.strip()[:100]
    if text:
        for word in text.lower().split()[:6]:
            like = f"%{word}%"
            query = query.where(
                or_(
                    ResourceService.name.ilike(like),
                    ResourceService.alternate_name.ilike(like),
                    ResourceService.description.ilike(like),
                    ResourceOrganization.name.ilike(like),
                    ResourceOrganization.alternate_name.ilike(like),
                )
            )
    if language:
        query = query.where(
            exists().where(
                ResourceLanguage.service_id == ResourceService.id,
                ResourceLanguage.code == language.lower(),
            )
        )
    if open_at is not None:
        query = query.where(
            exists().where(
                and_(
                    ResourceSchedule.service_id == ResourceService.id,
                    ResourceSchedule.weekday == open_at.weekday,
                    ResourceSchedule.opens_at <= open_at.time,
                    ResourceSchedule.closes_at > open_at.time,
                )
            )
        )
    rows = db.execute(query.order_by(ResourceService.name, ResourceService.id)).all()
    hits = [
        _hit(service, org)
        for service, org in rows
        if not wanted or wanted.intersection(service.needs or [])
    ]
    _details(db, hits, near, open_at)
    if near is not None:
        if within_km is not None:
            hits = [h for h in hits if h.distance_km is not None and h.distance_km <= within_km]
        hits.sort(key=lambda h: (h.distance_km is None, h.distance_km or 0.0, h.name))
    return hits[:limit]


def _hit(service: ResourceService, org: ResourceOrganization) -> Hit:
    return Hit(
        id=service.id,
        hsds_id=service.hsds_id,
        name=service.name,
        description=service.description,
        status=service.status,
        organization_id=org.id,
        organization=org.name,
        needs=list(service.needs or []),
        url=service.url or org.website,
    )


def _details(db: Session, hits: list[Hit], near: Point | None, open_at: When | None) -> None:
    if not hits:
        return
    by_id = {h.id: h for h in hits}
    ids = list(by_id)
    for service_id, code in db.execute(
        select(ResourceLanguage.service_id, ResourceLanguage.code)
        .where(ResourceLanguage.service_id.in_(ids))
        .order_by(ResourceLanguage.code)
    ):
        if service_id is not None and code and code not in by_id[service_id].languages:
            by_id[service_id].languages.append(code)
    for schedule in db.scalars(
        select(ResourceSchedule)
        .where(ResourceSchedule.service_id.in_(ids))
        .order_by(ResourceSchedule.weekday, ResourceSchedule.opens_at)
    ):
        if schedule.service_id is not None:
            by_id[schedule.service_id].hours.append(
                Hours(schedule.weekday, schedule.opens_at, schedule.closes_at)
            )
    org_of = {h.organization_id: h for h in hits}
    phones = db.execute(
        select(ResourcePhone).where(
            or_(
                ResourcePhone.service_id.in_(ids),
                ResourcePhone.organization_id.in_(list(org_of)),
            )
        )
    ).scalars()
    for phone in phones:
        targets = (
            [by_id[phone.service_id]]
            if phone.service_id in by_id
            else [h for h in hits if h.organization_id == phone.organization_id]
        )
        for hit in targets:
            if phone.number not in hit.phones:
                hit.phones.append(phone.number)
    for service_id, location in db.execute(
        select(ResourceServiceLocation.service_id, ResourceLocation)
        .join(ResourceLocation, ResourceLocation.id == ResourceServiceLocation.location_id)
        .where(ResourceServiceLocation.service_id.in_(ids))
    ):
        distance = None
        if near is not None and location.latitude is not None and location.longitude is not None:
            distance = haversine_km(
                near.latitude, near.longitude, location.latitude, location.longitude
            )
        by_id[service_id].places.append(
            Place(
                location.id,
                location.name,
                _address(location),
                location.latitude,
                location.longitude,
                distance,
            )
        )
    for hit in hits:
        hit.places.sort(key=lambda p: (p.distance_km is None, p.distance_km or 0.0))
        if open_at is not None:
            hit.open_at = is_open(hit.hours, open_at)


def _days(days: list[int]) -> str:
    if len(days) == 7:
        return "Every day"
    runs: list[list[int]] = []
    for day in sorted(days):
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    short = {k: v[:3] for k, v in codes.WEEKDAYS.items()}
    return ", ".join(
        f"{short[r[0]]}{DASH}{short[r[-1]]}" if len(r) > 2 else ", ".join(short[d] for d in r)
        for r in runs
    )


def hours_summary(hours: Iterable[Hours]) -> list[str]:
    """Weekly hours in few words: "Mon-Fri 09:00-17:00", "Tue, Thu 10:00-14:00" (with en
    dashes)."""
    by_time: dict[tuple[dt.time, dt.time], list[int]] = {}
    for h in hours:
        by_time.setdefault((h.opens_at, h.closes_at), []).append(h.weekday)
    ordered = sorted(by_time.items(), key=lambda item: (min(item[1]), item[0]))
    return [f"{_days(days)} {opens:%H:%M}{DASH}{closes:%H:%M}" for (opens, closes), days in ordered]


def is_open(hours: Iterable[Hours], when: When) -> bool:
    return any(h.weekday == when.weekday and h.opens_at <= when.time < h.closes_at for h in hours)


def one(db: Session, service_id: uuid.UUID, near: Point | None = None) -> Hit:
    row = db.execute(
        select(ResourceService, ResourceOrganization)
        .join(ResourceOrganization, ResourceOrganization.id == ResourceService.organization_id)
        .where(ResourceService.id == service_id)
    ).first()
    if row is None:
        raise NotFound(f"No community service with id {service_id}")
    hit = _hit(row[0], row[1])
    _details(db, [hit], near, None)
    return hit


def locations(db: Session) -> list[tuple[uuid.UUID, str]]:
    """Directory locations with coordinates, to measure distance from (by name)."""
    rows = db.execute(
        select(ResourceLocation.id, ResourceLocation.name, ResourceOrganization.name)
        .outerjoin(
            ResourceOrganization, ResourceOrganization.id == ResourceLocation.organization_id
        )
        .where(ResourceLocation.latitude.is_not(None), ResourceLocation.longitude.is_not(None))
        .order_by(ResourceOrganization.name, ResourceLocation.name)
    ).all()
    return [(lid, " — ".join(p for p in (org, name) if p)) for lid, name, org in rows]


def point_of(db: Session, location_id: uuid.UUID) -> Point:
    location = db.get(ResourceLocation, location_id)
    if location is None or location.latitude is None or location.longitude is None:
        raise NotFound(f"No directory location with coordinates has id {location_id}")
    return Point(location.latitude, location.longitude, location.name or "")
