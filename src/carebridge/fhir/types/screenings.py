"""QuestionnaireResponse, from the social needs screenings (AHC HRSN and others). Changed on
the Social needs screen and through /api/v1; QuestionnaireResponses sent through FHIR are
kept as received, in the same type."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.fhir.indexing import SearchParam, extract
from carebridge.fhir.mappers.screenings import screening_to_fhir
from carebridge.fhir.mapping import Projection, Rendered, ResourceDef, params
from carebridge.fhir.store import Index
from carebridge.security.roles import Permission
from carebridge.social.models import Screening

QUESTIONNAIRE_RESPONSE = ResourceDef(
    "QuestionnaireResponse",
    Permission.SCREENING_READ,
    None,  # no writer: ours are made on their screens; what is sent is kept as received
    params=params(
        SearchParam("patient", "reference", ("subject",), ("Patient",)),
        SearchParam("subject", "reference", ("subject",), ("Patient",)),
        SearchParam("source", "reference", ("source",), ("Patient",)),
        SearchParam("status", "token", ("status",)),
        # The canonical searched as a token: questionnaire=http://loinc.org/q/96777-8
        SearchParam("questionnaire", "token", ("questionnaire",)),
        SearchParam("authored", "date", ("authored",)),
    ),
    summary=("questionnaire", "status", "subject", "authored", "source"),
)


def _screenings(db: Session, ids: list[uuid.UUID]) -> Rendered:
    for screening in db.scalars(select(Screening).where(Screening.id.in_(ids))):
        resource = screening_to_fhir(screening)
        base = Index(patient_id=screening.patient_id, status=str(resource["status"]))
        yield resource, extract(resource, QUESTIONNAIRE_RESPONSE.params, base)


def _feeds(obj: object) -> Iterable[uuid.UUID]:
    if isinstance(obj, Screening):
        yield obj.id


TYPES = (Projection(QUESTIONNAIRE_RESPONSE, _screenings, _feeds, Screening.id),)
