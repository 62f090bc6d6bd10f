"""ServiceRequest through the referrals service, as the referral screens make them: a new
referral (a draft, or sent at once when ``active``) to or from a provider of the directory;
an update changes an open referral's details, or sends a draft. The later steps (accepted,
scheduled, seen, report received, closed, declined or cancelled with a reason) are the
referral screen's: R4 has one status, ``active``, for most of them."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.referrals import (
    REFERRAL_PATHS,
    SentProvider,
    referral_create,
    referral_update,
    service_request_from_fhir,
)
from carebridge.fhir.writers.common import (
    Warnings,
    Writer,
    at_elements,
    not_kept,
    patient_of,
    rendering,
    same_patient,
)
from carebridge.referrals import service as referrals
from carebridge.referrals.codes import STATUSES
from carebridge.referrals.models import OutsideProvider, Referral, ReferralAttachment
from carebridge.referrals.schemas import ReferralTransition
from carebridge.security.audit import Actor
from carebridge.settings import Settings

WHY = (
    "not changed (a referral's steps after it is sent, such as accepted, scheduled, seen, "
    "closed or cancelled with a reason, are taken on its screen)"
)
# Set by the server; the directory's (a provider's details change in the directory); or
# the provider's place, read above (its display follows the provider).
NOT_COMPARED = frozenset({"authoredOn", "identifier", "contained", "performer", "requester"})


def _directory_entry(db: Session, provider: SentProvider) -> uuid.UUID:
    """The directory entry with the provider's NPI, else the one active entry of its name."""
    if provider.npi:
        found = db.scalar(select(OutsideProvider.id).where(OutsideProvider.npi == provider.npi))
        if found is None:
            raise FhirError(
                422,
                "not-found",
                f"{provider.path}: no directory entry has NPI {provider.npi}; add the provider "
                "to the directory first",
                expression=[provider.path],
            )
        return found
    if not provider.name:
        raise FhirError(
            422,
            "required",
            f"{provider.path}: give the provider's NPI (or its name as in the directory)",
            expression=[provider.path],
        )
    name = provider.name.lower()
    matches = db.scalars(
        select(OutsideProvider.id).where(
            or_(
                func.lower(OutsideProvider.name) == name,
                func.lower(OutsideProvider.organization) == name,
            ),
            OutsideProvider.active.is_(True),
        )
    ).all()
    if len(matches) != 1:
        raise FhirError(
            422,
            "not-found",
            f"{provider.path}: {len(matches) or 'no'} active directory entries are called "
            f"{provider.name!r}; give the provider's NPI",
            expression=[provider.path],
        )
    return matches[0]


def _send(db: Session, actor: Actor, referral_id: uuid.UUID, zone: str) -> None:
    referral = db.get(Referral, referral_id)
    assert referral is not None  # just made or found
    step = ReferralTransition(action="send", version=referral.version)
    referrals.transition(db, actor, referral_id, step, zone)


def create_referral(
    db: Session, actor: Actor, resource: Mapping[str, Any], settings: Settings
) -> tuple[uuid.UUID, Warnings]:
    patient_id = patient_of(db, resource, "ServiceRequest.subject")
    sent = service_request_from_fhir(resource)
    if sent.status not in (None, "draft", "active"):
        raise FhirError(
            422,
            "value",
            "ServiceRequest.status: a new referral is a draft, or active (sent)",
            expression=["ServiceRequest.status"],
        )
    data, warnings = referral_create(sent, _directory_entry(db, sent.provider))
    with at_elements("ServiceRequest", REFERRAL_PATHS):
        made = referrals.create(db, actor, patient_id, data, settings.timezone)
        if sent.status == "active":
            _send(db, actor, made.id, settings.timezone)
    if resource.get("occurrenceDateTime"):
        warnings.append(
            "ServiceRequest.occurrenceDateTime: not kept (a referral is marked scheduled on "
            "its screen once sent)"
        )
    return made.id, warnings


def update_referral(
    db: Session,
    actor: Actor,
    referral_id: uuid.UUID,
    resource: Mapping[str, Any],
    settings: Settings,
) -> Warnings:
    referral = db.get(Referral, referral_id)
    if referral is None:
        raise FhirError(404, "not-found", f"No ServiceRequest with id {referral_id}")
    same_patient(
        db,
        resource,
        "ServiceRequest.subject",
        referral.patient_id,
        "make the referral on the other chart",
    )
    said = STATUSES[referral.status]
    status_note = f"{said}: {referral.status_reason}" if referral.status_reason else None
    sent = service_request_from_fhir(resource, status_note)
    if sent.direction != referral.direction:
        raise FhirError(
            422,
            "invariant",
            f"{sent.provider.path}: a referral's direction ({referral.direction}) cannot change",
            expression=[sent.provider.path],
        )
    attached = list(
        db.scalars(
            select(ReferralAttachment.document_id).where(
                ReferralAttachment.referral_id == referral_id
            )
        )
    )
    change = referral_update(sent, _directory_entry(db, sent.provider), referral, attached)
    with at_elements("ServiceRequest", REFERRAL_PATHS):
        if change is not None:
            referrals.update(db, actor, referral_id, change, settings.timezone)
        if sent.status == "active" and referral.status == "draft":
            _send(db, actor, referral_id, settings.timezone)
    return not_kept(resource, rendering(db, "ServiceRequest", referral_id), WHY, NOT_COMPARED)


WRITERS = {"ServiceRequest": Writer(create_referral, update_referral)}
