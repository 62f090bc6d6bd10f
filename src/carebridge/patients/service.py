"""Patient use cases: register (with duplicate check), read, search, update, merge, related
persons, consents, documents and health history. Every read and change is audited."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    false,
    func,
    insert,
    or_,
    select,
    text,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from carebridge.db.base import Base
from carebridge.db.history import RecordVersion
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients import terminology
from carebridge.patients.matching import PersonFacts, birth_date_variants, score
from carebridge.patients.models import (
    Allergy,
    Condition,
    ContactConsent,
    Document,
    FamilyHistory,
    Identifier,
    Medication,
    PastEvent,
    Patient,
    RelatedPerson,
    SharingConsent,
    SocialHistory,
    Telecom,
)
from carebridge.patients.names import fold
from carebridge.patients.schemas import (
    AllergyCreate,
    ConditionCreate,
    ContactConsentCreate,
    ContactConsentRead,
    DocumentRead,
    DuplicateCandidate,
    FamilyHistoryCreate,
    IdentifierIn,
    ItemStatusUpdate,
    MedicationCreate,
    PastEventCreate,
    PatientCreate,
    PatientRead,
    PatientSummary,
    PatientUpdate,
    PhoneIn,
    RelatedPersonCreate,
    RelatedPersonRead,
    RelatedPersonUpdate,
    SharingConsentCreate,
    SharingConsentRead,
    SocialHistoryIn,
    VersionRead,
    e164,
    mrn_check_digit,
)
from carebridge.security.audit import Action, Actor, record
from carebridge.security.models import AuditEvent, User

MRN_SYSTEM = "urn:carebridge:mrn"
LIKELY = 60  # a candidate at or above this score stops registration until someone decides
MAX_DOCUMENT_BYTES = 5 * 1024 * 1024


class DuplicateSuspected(Conflict):
    code = "duplicate-suspected"
    title = "This patient may already be registered"


# --- MRN -------------------------------------------------------------------------------


def next_mrn(db: Session) -> str:
    """Seven digits from the counter plus a Luhn check digit."""
    value = db.execute(
        text("UPDATE counters SET value = value + 1 WHERE name = 'mrn' RETURNING value")
    ).scalar_one()
    digits = f"{value:07d}"
    return digits + mrn_check_digit(digits)


# --- reading ---------------------------------------------------------------------------


def _patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    return patient


def get(db: Session, actor: Actor, patient_id: uuid.UUID) -> PatientRead:
    """A patient's record, audited as a chart read."""
    patient = _patient(db, patient_id)
    record(
        db, actor, Action.READ, entity_type="Patient", entity_id=patient.id, patient_id=patient.id
    )
    return PatientRead.model_validate(patient)


def summary(patient: Patient) -> PatientSummary:
    phones = [t.value for t in patient.telecoms if t.system == "phone" and t.status == "active"]
    return PatientSummary(
        id=patient.id,
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_names=patient.given_names,
        preferred_name=patient.preferred_name,
        birth_date=patient.birth_date,
        sex=patient.sex,
        status=patient.status,
        phone=phones[0] if phones else None,
    )


# --- search ----------------------------------------------------------------------------

DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$|^(\d{1,2})/(\d{1,2})/(\d{4})$")


def _prefix(column: Any, value: str) -> Any:
    """Prefix match as a range, so a plain B-tree index serves it on SQLite and PostgreSQL."""
    return and_(column >= value, column < value + "\uffff")


def _parse_date(value: str) -> dt.date | None:
    match = DATE_RE.match(value)
    if not match:
        return None
    try:
        if match.group(1):
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        return dt.date(int(match.group(6)), int(match.group(4)), int(match.group(5)))
    except ValueError:
        return None


LIST_ORDER = (Patient.family_folded, Patient.given_folded, Patient.birth_date, Patient.id)


def _first(condition: ColumnElement[bool], n: int) -> Select[Any]:
    """Ids of the first ``n`` live patients matching one indexed condition, in list order:
    one index range read in order and stopped early, whatever the panel size."""
    ranked = (
        select(*LIST_ORDER)
        .where(Patient.status != "merged", condition)
        .order_by(*LIST_ORDER)
        .limit(n)
        .subquery()
    )
    return select(ranked.c.id)


def search_query(q: str, needed: int = 1000) -> Select[Patient]:
    """Understand what was typed: an MRN, a birth date, a phone number, an identifier,
    or a name ("smith", "smith, john", "john smith", "jo sm"). Alternatives are UNIONs of
    separately indexed lookups, never an OR that would make the planner scan the table;
    ``needed`` (offset + page + 1) bounds each name branch."""
    q = q.strip()
    query = select(Patient).where(Patient.status != "merged")
    digits = re.sub(r"\D", "", q)
    born = _parse_date(q)
    if born is not None:
        return query.where(Patient.birth_date == born)
    if q.isdigit() and len(q) == 8:  # ours, or one folded in by a merge
        ids = union_all(
            select(Patient.id).where(Patient.mrn == q),
            select(Identifier.patient_id).where(
                Identifier.system == MRN_SYSTEM, Identifier.value == q
            ),
        )
        return query.where(Patient.id.in_(ids))
    if digits and len(digits) >= 7 and not re.search(r"[A-Za-z]", q):
        try:
            number = e164(q)
        except ValueError:
            number = None
        if number:
            phones = select(Telecom.patient_id).where(
                Telecom.system == "phone", Telecom.value == number
            )
            return query.where(Patient.id.in_(phones))
    if any(ch.isdigit() for ch in q):  # another organisation's MRN, a member id
        ids = union_all(
            select(Identifier.patient_id).where(Identifier.value == q),
            select(Patient.id).where(Patient.mrn == q),
        )
        return query.where(Patient.id.in_(ids))
    if "," in q:
        family, _, given = q.partition(",")
        cond = _prefix(Patient.family_folded, fold(family))
        if fold(given):
            cond = and_(cond, _prefix(Patient.given_folded, fold(given)))
        return query.where(cond)
    words = fold(q).split()
    if not words:
        return query.where(false())
    if len(words) == 1:
        branches = [
            _prefix(Patient.family_folded, words[0]),
            _prefix(Patient.given_folded, words[0]),
        ]
    else:
        first, last = words[0], words[-1]
        branches = [
            and_(_prefix(Patient.given_folded, first), _prefix(Patient.family_folded, last)),
            and_(_prefix(Patient.family_folded, first), _prefix(Patient.given_folded, last)),
        ]
    return query.where(Patient.id.in_(union(*(_first(b, needed) for b in branches))))


def search(
    db: Session, actor: Actor, q: str, *, limit: int = 25, offset: int = 0
) -> tuple[list[PatientSummary], bool]:
    """One page of matches and whether there are more. No total count: counting every
    "s..." match would make search slow on large panels. Each listed patient is audited."""
    if not q.strip():
        return [], False
    # Only the columns a result row shows (and its first active phone): building whole
    # patients for a list costs more than finding them.
    rows = db.execute(
        search_query(q, offset + limit + 1)
        .with_only_columns(*SUMMARY_COLUMNS, _first_phone().label("phone"))
        .order_by(*LIST_ORDER)
        .offset(offset)
        .limit(limit + 1)
    ).all()
    page = [PatientSummary.model_validate(dict(r._mapping)) for r in rows[:limit]]
    _audit_listed(db, actor, page, f"search: {q[:100]}")
    return page, len(rows) > limit


SUMMARY_COLUMNS = (
    Patient.id,
    Patient.mrn,
    Patient.family_name,
    Patient.given_names,
    Patient.preferred_name,
    Patient.birth_date,
    Patient.sex,
    Patient.status,
)


def _first_phone() -> Any:
    return (
        select(Telecom.value)
        .where(
            Telecom.patient_id == Patient.id, Telecom.system == "phone", Telecom.status == "active"
        )
        .order_by(Telecom.rank)
        .limit(1)
        .scalar_subquery()
    )


def _audit_listed(db: Session, actor: Actor, page: Sequence[PatientSummary], why: str) -> None:
    if not page:
        return
    db.execute(
        insert(AuditEvent),
        [
            {
                "occurred_at": utcnow(),
                "user_id": actor.user_id,
                "username": actor.username,
                "role": actor.role,
                "action": Action.READ.value,
                "entity_type": "PatientList",
                "entity_id": str(p.id),
                "patient_id": p.id,
                "client_addr": actor.client_addr,
                "request_id": actor.request_id,
                "outcome": "success",
                "reason": why,
            }
            for p in page
        ],
    )


# --- duplicates ------------------------------------------------------------------------


def facts_of(data: PatientCreate | Patient) -> PersonFacts:
    if isinstance(data, Patient):
        phones = tuple(t.value for t in data.telecoms if t.system == "phone")
    else:
        phones = tuple(p.number for p in data.phones)
    return PersonFacts(
        family=data.family_name,
        given=data.given_names,
        birth_date=data.birth_date,
        phones=phones,
        email=data.email,
        postal_code=data.postal_code,
        address_line=data.address_line1,
        sex=data.sex,
    )


def find_duplicates(
    db: Session, data: PatientCreate, *, exclude: uuid.UUID | None = None, minimum: int = 40
) -> list[DuplicateCandidate]:
    """Candidates that may be the same person, best first. Blocking queries keep this to a
    handful of indexed lookups: same or swapped birth date, same phone or email, or the same
    folded name (any birth date, for a mistyped year)."""
    family, given = fold(data.family_name), fold(data.given_names)
    first_given = given.split()[0] if given else ""
    conditions: list[ColumnElement[bool]] = [
        Patient.birth_date.in_(birth_date_variants(data.birth_date)),
    ]
    if family and first_given:
        conditions += [
            and_(Patient.family_folded == family, _prefix(Patient.given_folded, first_given[:3])),
            # first and last names swapped at the desk
            and_(Patient.family_folded == first_given, _prefix(Patient.given_folded, family)),
        ]
    if data.email:
        conditions.append(Patient.email == data.email)
    phones = [p.number for p in data.phones]
    lookups = [select(Patient.id).where(c) for c in conditions]
    if phones:
        lookups.append(
            select(Telecom.patient_id).where(Telecom.system == "phone", Telecom.value.in_(phones))
        )
    # One indexed lookup per kind of evidence, united: an OR here would scan the panel.
    candidates = union(*lookups)
    query = select(Patient).where(Patient.id.in_(candidates), Patient.status != "merged").limit(200)
    if exclude is not None:
        query = query.where(Patient.id != exclude)
    mine = facts_of(data)
    found = []
    for patient in db.scalars(query):
        result = score(mine, facts_of(patient))
        if result.score >= minimum:
            found.append(
                DuplicateCandidate(
                    patient=summary(patient),
                    score=result.score,
                    level=result.level,
                    reasons=list(result.reasons),
                )
            )
    found.sort(key=lambda c: -c.score)
    return found[:10]


# --- registration and updates ----------------------------------------------------------


def register(db: Session, actor: Actor, data: PatientCreate) -> PatientRead:
    """Register a patient. Likely duplicates stop registration (409 with the candidates)
    unless a reason to go ahead is given; that decision is audited."""
    candidates = [c for c in find_duplicates(db, data) if c.score >= LIKELY]
    if candidates and not data.duplicate_override_reason:
        raise DuplicateSuspected(
            f"{len(candidates)} existing patient(s) look like the same person; open one, or "
            "register anyway with a reason",
            extra={"candidates": [c.model_dump(mode="json") for c in candidates]},
        )
    if data.mrn and db.scalar(select(Patient.id).where(Patient.mrn == data.mrn)) is not None:
        raise Conflict(
            f"MRN {data.mrn} is already in use", fields={"mrn": "Another chart has this MRN."}
        )
    for ident in data.identifiers:
        _check_identifier_free(db, ident)
    patient = Patient(
        mrn=data.mrn or next_mrn(db),
        family_name=data.family_name,
        given_names=data.given_names,
        family_folded=fold(data.family_name),
        given_folded=fold(data.given_names),
        birth_date=data.birth_date,
        sex=data.sex.value,
        duplicate_override_reason=data.duplicate_override_reason if candidates else None,
        **_demographics(data),
    )
    db.add(patient)
    db.flush()
    _set_phones(db, patient, data.phones)
    for ident in data.identifiers:
        db.add(Identifier(patient_id=patient.id, **ident.model_dump()))
    for contact in data.emergency_contacts:
        db.add(_related(patient.id, contact.model_copy(update={"emergency_contact": True})))
    db.flush()
    reason = None
    if candidates:
        mrns = ", ".join(c.patient.mrn for c in candidates)
        reason = (
            f"registered despite possible duplicate(s) {mrns}: {data.duplicate_override_reason}"
        )
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Patient",
        entity_id=patient.id,
        patient_id=patient.id,
        reason=reason,
    )
    db.refresh(patient)
    return PatientRead.model_validate(patient)


DEMOGRAPHIC_FIELDS = (
    "preferred_name",
    "gender_identity",
    "pronouns",
    "language",
    "interpreter_needed",
    "race",
    "ethnicity",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "preferred_contact_method",
    "preferred_contact_times",
    "alerts",
    "primary_coordinator_id",
)


def _demographics(data: Any) -> dict[str, Any]:
    values = {}
    for name in DEMOGRAPHIC_FIELDS:
        if name in type(data).model_fields:
            value = getattr(data, name)
            values[name] = value.value if hasattr(value, "value") else value
    return values


def _set_phones(db: Session, patient: Patient, phones: Sequence[PhoneIn]) -> None:
    """Replace the active phone list: old numbers are kept as inactive, not deleted."""
    keep = {p.number for p in phones}
    for old in list(patient.telecoms):
        if old.system == "phone" and old.status == "active" and old.value not in keep:
            old.status = "inactive"
    existing = {t.value: t for t in patient.telecoms if t.system == "phone"}
    for rank, phone in enumerate(phones, start=1):
        telecom = existing.get(phone.number)
        if telecom is None:
            db.add(
                Telecom(
                    patient_id=patient.id,
                    system="phone",
                    use=phone.use,
                    value=phone.number,
                    rank=rank,
                )
            )
        else:
            telecom.status, telecom.use, telecom.rank = "active", phone.use, rank


def _check_version(kind: str, current: int, sent: int) -> None:
    check_version(f"This {kind}", current, sent)


def update_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: PatientUpdate
) -> PatientRead:
    patient = _patient(db, patient_id)
    if patient.status == "merged":
        raise Conflict(f"Chart {patient.mrn} was merged; change the surviving chart instead")
    _check_version("patient", patient.version, data.version)
    sent = data.model_dump(exclude_unset=True, exclude={"version", "phones"})
    for name, value in sent.items():
        setattr(patient, name, value.value if hasattr(value, "value") else value)
    if "family_name" in sent:
        patient.family_folded = fold(patient.family_name)
    if "given_names" in sent:
        patient.given_folded = fold(patient.given_names)
    if data.phones is not None:
        _set_phones(db, patient, data.phones)
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Patient",
        entity_id=patient.id,
        patient_id=patient.id,
        reason=", ".join(sorted(sent)) or None,
    )
    db.refresh(patient)
    return PatientRead.model_validate(patient)


def _check_identifier_free(
    db: Session, ident: IdentifierIn, owner: uuid.UUID | None = None
) -> None:
    holder = db.scalar(
        select(Identifier.patient_id).where(
            Identifier.system == ident.system, Identifier.value == ident.value
        )
    )
    if holder is not None and holder != owner:
        raise Conflict(
            f"Identifier {ident.value} ({ident.system}) belongs to another patient",
            fields={"identifiers": "This identifier is already on another chart."},
        )


def add_identifier(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: IdentifierIn
) -> PatientRead:
    patient = _patient(db, patient_id)
    _check_identifier_free(db, data)
    db.add(Identifier(patient_id=patient.id, **data.model_dump()))
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Patient",
        entity_id=patient.id,
        patient_id=patient.id,
        reason=f"identifier {data.type} added",
    )
    db.refresh(patient)
    return PatientRead.model_validate(patient)


def set_no_known_allergies(db: Session, actor: Actor, patient_id: uuid.UUID) -> PatientRead:
    patient = _patient(db, patient_id)
    active = db.scalar(
        select(func.count())
        .select_from(Allergy)
        .where(Allergy.patient_id == patient.id, Allergy.clinical_status == "active")
    )
    if active:
        raise ValidationFailed(
            "The patient has active allergies; mark them inactive or entered in error first"
        )
    patient.allergy_status = "no-known-allergies"
    patient.allergy_status_at = utcnow()
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Patient",
        entity_id=patient.id,
        patient_id=patient.id,
        reason="no known allergies",
    )
    return PatientRead.model_validate(patient)


# --- merge -----------------------------------------------------------------------------


def _references_to_patients() -> list[tuple[Any, Any]]:
    """Every (table, column) that points at a patient, found from the schema itself, so
    records added by later capabilities move with a merge without being listed here."""
    found = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "patients" and not (
                table.name == "patients" and fk.parent.name == "merged_into_id"
            ):
                found.append((table, fk.parent))
    return found


def merge(
    db: Session, actor: Actor, survivor_id: uuid.UUID, merged_id: uuid.UUID, reason: str
) -> PatientRead:
    """Fold one chart into another. Everything that points at the merged chart moves to the
    survivor; the merged chart stays, marked merged, and redirects to the survivor."""
    if survivor_id == merged_id:
        raise ValidationFailed("A chart cannot be merged into itself")
    if not reason.strip():
        raise ValidationFailed(
            "Say why these charts are the same person",
            fields={"reason": "A reason is required for a merge."},
        )
    survivor, merged = _patient(db, survivor_id), _patient(db, merged_id)
    for chart in (survivor, merged):
        if chart.status == "merged":
            raise Conflict(f"Chart {chart.mrn} was already merged")
    db.flush()
    survivor_has_social = db.scalar(
        select(SocialHistory.id).where(SocialHistory.patient_id == survivor.id)
    )
    for table, column in _references_to_patients():
        if table.name == "social_history" and survivor_has_social:
            continue  # one per patient: the survivor's stays current, the other stays put
        db.execute(update(table).where(column == merged.id).values({column.name: survivor.id}))
    db.add(
        Identifier(
            patient_id=survivor.id,
            type="MR",
            system=MRN_SYSTEM,
            value=merged.mrn,
            assigner="merged chart",
        )
    )
    merged.status = "merged"
    merged.merged_into_id = survivor.id
    db.flush()
    db.expire_all()
    why = f"merged {merged.mrn} into {survivor.mrn}: {reason.strip()}"
    for chart in (survivor, merged):
        record(
            db,
            actor,
            Action.UPDATE,
            entity_type="Patient",
            entity_id=chart.id,
            patient_id=chart.id,
            reason=why,
        )
    return PatientRead.model_validate(_patient(db, survivor_id))


# --- related persons, consents, documents ---------------------------------------------


def _related(patient_id: uuid.UUID, data: RelatedPersonCreate) -> RelatedPerson:
    values = data.model_dump()
    values["relationship_code"] = values.pop("relationship")
    return RelatedPerson(patient_id=patient_id, **values)


def add_related_person(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: RelatedPersonCreate
) -> RelatedPersonRead:
    patient = _patient(db, patient_id)
    person = _related(patient.id, data)
    db.add(person)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="RelatedPerson",
        entity_id=person.id,
        patient_id=patient.id,
    )
    return RelatedPersonRead.model_validate(person)


def update_related_person(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    person_id: uuid.UUID,
    data: RelatedPersonUpdate,
) -> RelatedPersonRead:
    person = db.get(RelatedPerson, person_id)
    if person is None or person.patient_id != patient_id:
        raise NotFound(f"No related person {person_id} on this patient")
    _check_version("related person", person.version, data.version)
    for name, value in data.model_dump(exclude_unset=True, exclude={"version"}).items():
        setattr(person, "relationship_code" if name == "relationship" else name, value)
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="RelatedPerson",
        entity_id=person.id,
        patient_id=patient_id,
    )
    return RelatedPersonRead.model_validate(person)


def related_persons(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[RelatedPersonRead]:
    _patient(db, patient_id)
    rows = db.scalars(
        select(RelatedPerson)
        .where(RelatedPerson.patient_id == patient_id)
        .order_by(RelatedPerson.created_at)
    )
    record(db, actor, Action.READ, entity_type="RelatedPerson", patient_id=patient_id)
    return [RelatedPersonRead.model_validate(r) for r in rows]


def add_document(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    title: str,
    content_type: str,
    content: bytes,
) -> DocumentRead:
    _patient(db, patient_id)
    if not content:
        raise ValidationFailed("The file is empty", fields={"document": "Choose a file to upload."})
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            "The file is too large", fields={"document": "Upload a file of at most 5 MB."}
        )
    allowed = ("application/pdf", "image/png", "image/jpeg")
    if content_type not in allowed:
        raise ValidationFailed(
            "Unsupported file type", fields={"document": "Upload a PDF, PNG or JPEG file."}
        )
    doc = Document(
        patient_id=patient_id,
        title=title.strip()[:200] or "Document",
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    db.add(doc)
    db.flush()
    record(
        db, actor, Action.CREATE, entity_type="Document", entity_id=doc.id, patient_id=patient_id
    )
    return DocumentRead.model_validate(doc)


def get_document(
    db: Session, actor: Actor, patient_id: uuid.UUID, document_id: uuid.UUID
) -> tuple[DocumentRead, bytes]:
    doc = db.get(Document, document_id)
    if doc is None or doc.patient_id != patient_id:
        raise NotFound(f"No document {document_id} on this patient")
    record(db, actor, Action.READ, entity_type="Document", entity_id=doc.id, patient_id=patient_id)
    return DocumentRead.model_validate(doc), doc.content


def add_sharing_consent(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: SharingConsentCreate
) -> SharingConsentRead:
    person = db.get(RelatedPerson, data.related_person_id)
    if person is None or person.patient_id != patient_id:
        raise ValidationFailed(
            "Choose one of this patient's related persons",
            fields={"related_person_id": "Not a contact of this patient."},
        )
    if data.document_id is not None:
        doc = db.get(Document, data.document_id)
        if doc is None or doc.patient_id != patient_id:
            raise ValidationFailed(
                "Unknown document", fields={"document_id": "Upload the signed form first."}
            )
    consent = SharingConsent(patient_id=patient_id, **data.model_dump())
    db.add(consent)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="SharingConsent",
        entity_id=consent.id,
        patient_id=patient_id,
    )
    return SharingConsentRead.model_validate(consent)


def revoke_sharing_consent(
    db: Session, actor: Actor, patient_id: uuid.UUID, consent_id: uuid.UUID, version: int
) -> SharingConsentRead:
    consent = db.get(SharingConsent, consent_id)
    if consent is None or consent.patient_id != patient_id:
        raise NotFound(f"No sharing consent {consent_id} on this patient")
    _check_version("consent", consent.version, version)
    consent.status = "revoked"
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="SharingConsent",
        entity_id=consent.id,
        patient_id=patient_id,
        reason="revoked",
    )
    return SharingConsentRead.model_validate(consent)


def sharing_consents(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[SharingConsentRead]:
    rows = db.scalars(
        select(SharingConsent)
        .where(SharingConsent.patient_id == patient_id)
        .order_by(SharingConsent.signed_on.desc())
    )
    record(db, actor, Action.READ, entity_type="SharingConsent", patient_id=patient_id)
    return [SharingConsentRead.model_validate(r) for r in rows]


def record_contact_consent(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: ContactConsentCreate
) -> ContactConsentRead:
    _patient(db, patient_id)
    if data.effective_until and data.effective_until < data.effective_from:
        raise ValidationFailed(
            "The end date is before the start date",
            fields={"effective_until": "End on or after the start date."},
        )
    consent = ContactConsent(patient_id=patient_id, **data.model_dump(mode="python"))
    consent.channel = data.channel.value
    db.add(consent)
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="ContactConsent",
        entity_id=consent.id,
        patient_id=patient_id,
        reason=f"{data.channel.value}: {data.decision}",
    )
    return ContactConsentRead.model_validate(consent)


def contact_consents(db: Session, patient_id: uuid.UUID) -> list[ContactConsentRead]:
    rows = db.scalars(
        select(ContactConsent)
        .where(ContactConsent.patient_id == patient_id)
        .order_by(ContactConsent.created_at.desc())
    )
    return [ContactConsentRead.model_validate(r) for r in rows]


def consent_permits(
    patient_id: uuid.UUID | SQLColumnExpression[uuid.UUID], channel: str, on: dt.date
) -> ColumnElement[bool]:
    """SQL for the contact rule: the latest decision in force on ``on`` for this channel is
    "permit"; no decision means no. ``patient_id`` is a value or a column (``Patient.id``
    correlates it, so a set query can select or filter on it for many patients at once)."""
    latest = (
        select(ContactConsent.decision)
        .where(
            ContactConsent.patient_id == patient_id,
            ContactConsent.channel == channel,
            ContactConsent.effective_from <= on,
            or_(ContactConsent.effective_until.is_(None), ContactConsent.effective_until >= on),
        )
        .order_by(ContactConsent.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest == "permit", false())


def may_contact(db: Session, patient_id: uuid.UUID, channel: str, on: dt.date) -> bool:
    """The latest decision in force on ``on`` for this channel; no decision means no."""
    return bool(db.scalar(select(consent_permits(patient_id, channel, on))))


# --- health history --------------------------------------------------------------------

KINDS: dict[str, tuple[type[Any], type[Any], str]] = {
    # kind: (model, create schema, status column)
    "conditions": (Condition, ConditionCreate, "clinical_status"),
    "allergies": (Allergy, AllergyCreate, "clinical_status"),
    "medications": (Medication, MedicationCreate, "status"),
    "family-history": (FamilyHistory, FamilyHistoryCreate, "status"),
    "past-events": (PastEvent, PastEventCreate, "status"),
}
END_COLUMNS = {
    "conditions": "abatement_date",
    "medications": "stop_date",
    "past-events": "end_date",
}
ITEM_STATUSES: dict[str, tuple[str, ...]] = {
    "conditions": (
        "active",
        "recurrence",
        "relapse",
        "inactive",
        "remission",
        "resolved",
        "entered-in-error",
    ),
    "allergies": ("active", "inactive", "resolved", "entered-in-error"),
    "medications": (
        "active",
        "completed",
        "stopped",
        "on-hold",
        "intended",
        "not-taken",
        "entered-in-error",
    ),
    "family-history": ("completed", "partial", "health-unknown", "entered-in-error"),
    "past-events": ("completed", "partial", "health-unknown", "entered-in-error"),
}


def _item_values(kind: str, data: Any) -> dict[str, Any]:
    values: dict[str, Any] = data.model_dump()
    if kind == "conditions":
        if data.code_system == "icd-10-cm":
            coding = terminology.icd10(data.code)
        else:
            if not data.display:
                raise ValidationFailed(
                    "A SNOMED CT problem needs its display text",
                    fields={"display": "Give the problem's name."},
                )
            coding = terminology.coding(terminology.SNOMED, data.code, data.display)
        values.update(code_system=coding.system, code=coding.code, display=coding.display)
        if data.clinical_status == "resolved" and data.abatement_date is None:
            values["abatement_date"] = dt.date.today()  # noqa: DTZ011 - a calendar date
    elif kind == "family-history" and data.code:
        values.update(code_system=terminology.ICD10CM, code=terminology.icd10(data.code).code)
    if kind == "family-history":
        values["relationship_code"] = values.pop("relationship")
    if kind == "allergies":
        values["code_system"] = values["code"] = None
    return values


def add_item(
    db: Session, actor: Actor, patient_id: uuid.UUID, kind: str, data: Any
) -> dict[str, Any]:
    model, schema, _ = _kind(kind)
    patient = _patient(db, patient_id)
    if not isinstance(data, schema):
        raise ValidationFailed(f"Wrong body for {kind}")
    item = model(patient_id=patient.id, **_item_values(kind, data))
    db.add(item)
    if kind == "allergies" and item.clinical_status == "active":
        patient.allergy_status = "has-allergies"
        patient.allergy_status_at = utcnow()
    db.flush()
    record(
        db,
        actor,
        Action.CREATE,
        entity_type=model.__name__,
        entity_id=item.id,
        patient_id=patient.id,
    )
    return item_read(kind, item)


def set_item_status(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    kind: str,
    item_id: uuid.UUID,
    data: ItemStatusUpdate,
) -> dict[str, Any]:
    model, _, status_column = _kind(kind)
    item = db.get(model, item_id)
    if item is None or item.patient_id != patient_id:
        raise NotFound(f"No {kind} entry {item_id} on this patient")
    if data.status not in ITEM_STATUSES[kind]:
        raise ValidationFailed(
            f"'{data.status}' is not a status for {kind}",
            fields={"status": "Use one of " + ", ".join(ITEM_STATUSES[kind]) + "."},
        )
    _check_version(kind.rstrip("s"), item.version, data.version)
    setattr(item, status_column, data.status)
    if data.note is not None:
        item.note = data.note
    end_column = END_COLUMNS.get(kind)
    if end_column and data.end_date is not None:
        setattr(item, end_column, data.end_date)
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type=model.__name__,
        entity_id=item.id,
        patient_id=patient_id,
        reason=f"status {data.status}",
    )
    return item_read(kind, item)


def items(
    db: Session, actor: Actor, patient_id: uuid.UUID, kind: str, include_errors: bool = False
) -> list[dict[str, Any]]:
    model, _, status_column = _kind(kind)
    _patient(db, patient_id)
    query = select(model).where(model.patient_id == patient_id)
    if not include_errors:
        query = query.where(getattr(model, status_column) != "entered-in-error")
    rows = db.scalars(query.order_by(model.created_at.desc()))
    record(db, actor, Action.READ, entity_type=model.__name__, patient_id=patient_id)
    return [item_read(kind, r) for r in rows]


def item_read(kind: str, item: Any) -> dict[str, Any]:
    from carebridge.db.history import snapshot

    data = snapshot(item)
    data["kind"] = kind
    return data


def _kind(kind: str) -> tuple[type[Any], type[Any], str]:
    try:
        return KINDS[kind]
    except KeyError:
        raise NotFound(
            f"No kind of health history called '{kind}'; use one of " + ", ".join(KINDS)
        ) from None


def social_history(db: Session, patient_id: uuid.UUID) -> SocialHistory | None:
    return db.scalar(select(SocialHistory).where(SocialHistory.patient_id == patient_id))


def read_social_history(db: Session, actor: Actor, patient_id: uuid.UUID) -> dict[str, Any] | None:
    _patient(db, patient_id)
    row = social_history(db, patient_id)
    record(db, actor, Action.READ, entity_type="SocialHistory", patient_id=patient_id)
    return item_read("social-history", row) if row else None


def save_social_history(
    db: Session, actor: Actor, patient_id: uuid.UUID, data: SocialHistoryIn
) -> dict[str, Any]:
    _patient(db, patient_id)
    current = social_history(db, patient_id)
    values = data.model_dump(exclude={"version"})
    if current is None:
        current = SocialHistory(patient_id=patient_id, **values)
        db.add(current)
        action = Action.CREATE
    else:
        if data.version is None:
            raise Conflict(
                "Social history is already recorded; send its version to change it",
                extra={"current_version": current.version},
            )
        _check_version("social history", current.version, data.version)
        for name, value in values.items():
            setattr(current, name, value)
        action = Action.UPDATE
    db.flush()
    record(
        db, actor, action, entity_type="SocialHistory", entity_id=current.id, patient_id=patient_id
    )
    return item_read("social-history", current)


# --- timeline --------------------------------------------------------------------------


# Bookkeeping columns that say nothing to a coordinator reading the timeline.
TIMELINE_NOISE = frozenset(
    {
        "id",
        "patient_id",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
        "version",
        "family_folded",
        "given_folded",
    }
)


def timeline(
    db: Session, actor: Actor, patient_id: uuid.UUID, limit: int = 100
) -> list[VersionRead]:
    """What changed on this chart, newest first, with who changed it and which fields."""
    _patient(db, patient_id)
    rows = db.execute(
        select(RecordVersion, User.username)
        .outerjoin(User, User.id == RecordVersion.changed_by)
        .where(RecordVersion.patient_id == patient_id)
        .order_by(RecordVersion.changed_at.desc(), RecordVersion.id.desc())
        .limit(limit)
    ).all()
    out = []
    earlier = _earlier_versions(db, [v for v, _ in rows])
    for version, name in rows:
        before = earlier.get(version.id, {})
        changed = {
            k: v
            for k, v in version.data.items()
            if k not in TIMELINE_NOISE
            and (before.get(k) != v if version.action == "update" else v not in (None, [], ""))
        }
        out.append(
            VersionRead(
                entity_type=version.entity_type,
                entity_id=version.entity_id,
                version=version.version,
                action=version.action,
                changed_at=version.changed_at,
                changed_by=name,
                changes=changed,
            )
        )
    record(db, actor, Action.READ, entity_type="Timeline", patient_id=patient_id)
    return out


def _earlier_versions(db: Session, versions: list[RecordVersion]) -> dict[int, dict[str, Any]]:
    """For each update, the snapshot just before it (to show what changed)."""
    wanted = [(v.entity_id, v.version - 1, v.id) for v in versions if v.action == "update"]
    if not wanted:
        return {}
    ids = {e for e, _, _ in wanted}
    rows = db.scalars(select(RecordVersion).where(RecordVersion.entity_id.in_(ids)))
    by_key = {(r.entity_id, r.version): r.data for r in rows}
    return {vid: by_key.get((eid, ver), {}) for eid, ver, vid in wanted}
