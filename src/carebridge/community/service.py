"""Community referrals: a patient referred to a community service goes through the referral
lifecycle (``referrals.service``) with the organization as the referral's outside provider
(made in the provider directory on its first referral). The referral is sent when made; the
loop closes when the organization confirms (a coordinator records the phone call, or the
organization posts it through the API); when it has not confirmed within the days given,
:func:`follow_up_unconfirmed` (a worker job) raises a task for the person who referred.

Also: the patient's open social needs (from the social package) and the services suggested
for them. Services flush and never commit; every read of patient data and every change is
audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.community import codes, search
from carebridge.community.models import (
    CommunityReferral,
    ResourceLocation,
    ResourceOrganization,
    ResourcePhone,
    ResourceService,
    ResourceServiceLocation,
)
from carebridge.community.schemas import (
    CommunityReferralCreate,
    CommunityReferralRead,
    Confirmation,
    NeedsUpdate,
)
from carebridge.db.session import unit_of_work
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.referrals import codes as rcodes
from carebridge.referrals import directory
from carebridge.referrals import service as referrals
from carebridge.referrals.models import Referral
from carebridge.referrals.schemas import ProviderCreate, ReferralCreate, ReferralTransition
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import User
from carebridge.social import service as social
from carebridge.social.schemas import NeedRead, NeedUpdate
from carebridge.tasks import service as tasks
from carebridge.tasks.models import Task

FOLLOW_UP = "community-unconfirmed"
FALLBACK_QUEUE = "coordinators"
SUGGESTION_LIMIT = 5


# --- the patient's needs and suggestions ---------------------------------------------------


def open_needs(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[NeedRead]:
    """The patient's open social needs (one audited read)."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    record(
        db, actor, Action.READ, entity_type="SocialNeed", patient_id=patient_id, reason="resources"
    )
    return social.open_needs(db, patient_id)


@dataclass
class Suggestion:
    need: str
    label: str
    since: dt.date | None
    services: list[search.Hit]


def suggestions(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    near: search.Point | None = None,
    language: str | None = None,
    limit: int = SUGGESTION_LIMIT,
) -> list[Suggestion]:
    """For each open need (once per domain), the matching active services: nearest first
    when ``near`` is given; in the patient's language when ``language`` is given."""
    found: list[Suggestion] = []
    seen: set[str] = set()
    for need in open_needs(db, actor, patient_id):
        if need.domain in seen:
            continue
        seen.add(need.domain)
        hits = search.search(db, need=need.domain, near=near, language=language, limit=limit)
        found.append(
            Suggestion(
                need.domain,
                codes.NEEDS.get(need.domain, need.title),
                need.identified_on,
                hits,
            )
        )
    return found


def set_needs(
    db: Session, actor: Actor, service_id: uuid.UUID, data: NeedsUpdate
) -> ResourceService:
    """Set the need domains a service meets by hand; later imports leave them."""
    row = db.get(ResourceService, service_id)
    if row is None:
        raise NotFound(f"No community service with id {service_id}")
    check_version("This service", row.version, data.version)
    row.needs = [n for n in codes.NEEDS if n in set(data.needs)]
    row.needs_by_hand = True
    db.flush()
    record(db, actor, Action.UPDATE, entity_type="ResourceService", entity_id=row.id)
    return row


# --- making a referral ---------------------------------------------------------------------


def _service(db: Session, service_id: uuid.UUID) -> tuple[ResourceService, ResourceOrganization]:
    row = db.execute(
        select(ResourceService, ResourceOrganization)
        .join(ResourceOrganization, ResourceOrganization.id == ResourceService.organization_id)
        .where(ResourceService.id == service_id)
    ).first()
    if row is None:
        raise ValidationFailed(
            f"There is no community service with id {service_id}.",
            fields={"service_id": "Choose a service from the community resources directory."},
        )
    service, org = row[0], row[1]
    if service.status != "active":
        raise ValidationFailed(
            f"“{service.name}” is {service.status} in the directory; choose another service.",
            fields={"service_id": f"{service.name} is {service.status}."},
        )
    return service, org


def _location(
    db: Session, service: ResourceService, location_id: uuid.UUID | None
) -> ResourceLocation | None:
    query = (
        select(ResourceLocation)
        .join(ResourceServiceLocation, ResourceServiceLocation.location_id == ResourceLocation.id)
        .where(ResourceServiceLocation.service_id == service.id)
        .order_by(ResourceLocation.name, ResourceLocation.id)
    )
    if location_id is None:
        return db.scalars(query.limit(1)).first()
    location = db.scalars(query.where(ResourceLocation.id == location_id)).first()
    if location is None:
        raise ValidationFailed(
            f"“{service.name}” is not offered at location {location_id}.",
            fields={"location_id": "Choose one of the service's locations."},
        )
    return location


def provider_for(
    db: Session, actor: Actor, org: ResourceOrganization, location: ResourceLocation | None
) -> uuid.UUID:
    """The organization's entry in the outside provider directory (made on first use)."""
    if org.provider_id is not None:
        return org.provider_id
    phone = db.scalars(
        select(ResourcePhone.number)
        .where(ResourcePhone.organization_id == org.id)
        .order_by(ResourcePhone.hsds_id)
    ).first()
    state = (location.state or "").upper() if location else ""
    postal = (location.postal_code or "") if location else ""
    entry = directory.create(
        db,
        actor,
        ProviderCreate(
            name=org.name[:200],
            kind="community-service",
            organization=org.name[:200],
            specialty="Community resource",
            address_line=location.address_1 if location else None,
            city=location.city if location else None,
            state=state if len(state) == 2 and state.isalpha() else None,
            postal_code=postal if postal[:5].isdigit() and len(postal) in (5, 10) else None,
            phone=phone if phone and len(phone) <= 20 else None,
        ),
    )
    org.provider_id = entry.id
    db.flush()
    return entry.id


def refer(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    data: CommunityReferralCreate,
    zone: str,
    now: dt.datetime | None = None,
) -> CommunityReferralRead:
    """Refer the patient to a community service: a referral made and sent at once."""
    now = now or utcnow()
    service, org = _service(db, data.service_id)
    location = _location(db, service, data.location_id)
    if data.need is not None and service.needs and data.need not in service.needs:
        words = ", ".join(codes.NEEDS[n].lower() for n in service.needs if n in codes.NEEDS)
        raise ValidationFailed(
            f"“{service.name}” is listed for {words}, not {codes.NEEDS[data.need].lower()}.",
            fields={"need": "The service does not meet this need."},
        )
    provider_id = provider_for(db, actor, org, location)
    need_words = f"{codes.NEEDS[data.need]} need: " if data.need else ""
    reason = data.reason or f"{need_words}{service.name} ({org.name})"
    made = referrals.create(
        db,
        actor,
        patient_id,
        ReferralCreate(
            provider_id=provider_id,
            service_kind=rcodes.COMMUNITY_SERVICE,
            reason=reason[:4000],
            urgency=data.urgency,
            note=data.note,
        ),
        zone,
    )
    link = CommunityReferral(
        referral_id=made.id,
        service_id=service.id,
        location_id=location.id if location else None,
        need=data.need,
        confirm_within_days=data.confirm_within_days,
    )
    db.add(link)
    db.flush()
    referrals.transition(
        db, actor, made.id, ReferralTransition(action="send", version=made.version), zone, now
    )
    return read(db, actor, made.id, zone)


# --- reading -------------------------------------------------------------------------------


def _link(db: Session, referral_id: uuid.UUID) -> CommunityReferral:
    link = db.get(CommunityReferral, referral_id)
    if link is None:
        raise NotFound(f"No community referral with id {referral_id}")
    return link


def _read(db: Session, actor: Actor, link: CommunityReferral, zone: str) -> CommunityReferralRead:
    referral = referrals.get(db, actor, link.referral_id, zone)
    service = db.get(ResourceService, link.service_id)
    org = db.get(ResourceOrganization, service.organization_id) if service else None
    confirm_by = None
    if referral.sent_at is not None:
        confirm_by = referral.sent_at.astimezone(ZoneInfo(zone)).date() + dt.timedelta(
            days=link.confirm_within_days
        )
    return CommunityReferralRead(
        referral=referral,
        service_id=link.service_id,
        service=service.name if service else "",
        organization=org.name if org else "",
        location_id=link.location_id,
        need=link.need,
        confirm_within_days=link.confirm_within_days,
        confirm_by=confirm_by,
        confirmed_at=link.confirmed_at,
        confirmed_via=link.confirmed_via,
        confirmation_note=link.confirmation_note,
    )


def read(db: Session, actor: Actor, referral_id: uuid.UUID, zone: str) -> CommunityReferralRead:
    return _read(db, actor, _link(db, referral_id), zone)


def for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, zone: str
) -> list[CommunityReferralRead]:
    """The patient's community referrals, newest first."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    links = db.scalars(
        select(CommunityReferral)
        .join(Referral, Referral.id == CommunityReferral.referral_id)
        .where(Referral.patient_id == patient_id)
        .order_by(Referral.created_at.desc(), Referral.id)
    ).all()
    return [_read(db, actor, link, zone) for link in links]


# --- closing the loop ----------------------------------------------------------------------


def confirm(
    db: Session,
    actor: Actor,
    referral_id: uuid.UUID,
    data: Confirmation,
    zone: str,
    *,
    via: str,
    now: dt.datetime | None = None,
) -> CommunityReferralRead:
    """The organization confirmed it took the patient on: the referral closes, the follow-up
    task (if raised) is completed, and the open need it was made for is marked addressed."""
    now = now or utcnow()
    link = _link(db, referral_id)
    if link.confirmed_at is not None:
        raise Conflict(
            f"This referral was already confirmed on {link.confirmed_at:%d %b %Y}. "
            "Nothing was saved."
        )
    referrals.transition(
        db,
        actor,
        referral_id,
        ReferralTransition(action="confirm", version=data.version),
        zone,
        now,
    )
    link.confirmed_at = now
    link.confirmed_via = via
    link.confirmation_note = data.note
    db.flush()
    referral = db.get(Referral, referral_id)
    assert referral is not None  # the transition found it
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="CommunityReferral",
        entity_id=referral_id,
        patient_id=referral.patient_id,
        reason=f"confirmed by the organization ({via})",
    )
    _complete_follow_up(db, actor, referral)
    if link.need:
        for need in social.open_needs(db, referral.patient_id):
            if need.domain == link.need:
                social.update_need(
                    db,
                    actor,
                    need.id,
                    NeedUpdate(
                        version=need.version,
                        status="addressed",
                        note=f"Community referral {referral.number} confirmed by the organization.",
                    ),
                    zone,
                )
    return read(db, actor, referral_id, zone)


def _complete_follow_up(db: Session, actor: Actor, referral: Referral) -> None:
    tasks.complete_open(
        db,
        actor,
        f"The organization confirmed referral {referral.number}.",
        Task.focus_type == "Referral",
        Task.focus_id == referral.id,
        Task.template_key == FOLLOW_UP,
    )


def follow_up_unconfirmed(db: Session, now: dt.datetime | None = None) -> int:
    """Raise a task, once per referral, for each community referral still waiting (sent or
    accepted) past its confirm-by days: to whoever made the referral, or the coordinators'
    queue when that person is no longer active. Returns how many were raised."""
    now = now or utcnow()
    actor = Actor.system("community follow-up")
    rows = db.execute(
        select(CommunityReferral, Referral, ResourceService.name)
        .join(Referral, Referral.id == CommunityReferral.referral_id)
        .join(ResourceService, ResourceService.id == CommunityReferral.service_id)
        .join(Patient, Patient.id == Referral.patient_id)
        .where(
            Referral.status.in_(("sent", "accepted")),
            Referral.sent_at.is_not(None),
            CommunityReferral.confirmed_at.is_(None),
            Patient.status == "active",
        )
        .order_by(Referral.sent_at, Referral.id)
    ).all()
    raised = 0
    for link, referral, service_name in rows:
        assert referral.sent_at is not None
        if referral.sent_at + dt.timedelta(days=link.confirm_within_days) > now:
            continue
        key = f"{FOLLOW_UP}:{referral.id}"
        if db.scalar(select(Task.id).where(Task.dedupe_key == key)) is not None:
            continue
        maker = db.get(User, referral.created_by) if referral.created_by else None
        owner = maker.id if maker is not None and maker.is_active else None
        tasks.create(
            db,
            actor,
            title=f"Community referral not confirmed: {service_name}"[:200],
            description=(
                f"Referral {referral.number} was sent {link.confirm_within_days} day(s) ago "
                "and the organization has not confirmed it took the patient on. Call the "
                "organization and the patient; record the confirmation on the referral, or "
                "refer elsewhere."
            ),
            patient_id=referral.patient_id,
            owner_id=owner,
            queue=None if owner else FALLBACK_QUEUE,
            focus_type="Referral",
            focus_id=referral.id,
            dedupe_key=key,
            kind="referral",
            template_key=FOLLOW_UP,
        )
        raised += 1
    return raised


def run(factory: sessionmaker[Session], now: dt.datetime | None = None) -> int:
    """The worker job: :func:`follow_up_unconfirmed` in its own unit of work."""
    with unit_of_work(factory) as db:
        return follow_up_unconfirmed(db, now)
