"""Social needs screening use cases: screen a patient with an instrument (checked complete and
valid, scored as the instrument specifies), record each positive domain as a need, list a
patient's screenings and needs, move a need to addressed or declined, and say when the
patient is due to be screened again.

Every read and change is audited with the patient. Services flush and never commit; a refused
screening raises before anything is written, so it leaves nothing.

Rescreening (our choice, documented in docs/coordinators/social.md): 12 months after the last
screening, 6 months after a positive one, so a patient with a need is asked again sooner.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.lib.errors import Conflict, NotFound, ValidationFailed, check_version
from carebridge.lib.time import utcnow
from carebridge.patients.codes import LANGUAGES
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor, record
from carebridge.social import instruments
from carebridge.social.instruments import DECLINED, DOMAINS, Instrument
from carebridge.social.models import Screening, SocialNeed
from carebridge.social.schemas import (
    AnswerRead,
    DomainResultRead,
    NeedRead,
    NeedUpdate,
    RescreenRead,
    ScreeningCreate,
    ScreeningInError,
    ScreeningRead,
)

RESCREEN_MONTHS = 12
RESCREEN_AFTER_POSITIVE_MONTHS = 6


# --- checking input ------------------------------------------------------------------------


def _live_patient(db: Session, patient_id: uuid.UUID) -> Patient:
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the surviving chart "
            "and screen the patient there. Nothing was saved."
        )
    return patient


def instrument_of(code: str) -> Instrument:
    found = instruments.get(code)
    if found is None:
        raise ValidationFailed(
            f"There is no screening instrument “{code}”; use one of "
            f"{', '.join(instruments.INSTRUMENTS)}.",
            fields={"instrument": "Choose an instrument from the list."},
        )
    return found


def field_of(link_id: str) -> str:
    """The form field (and error key) of an item."""
    return f"item-{link_id}"


def _check(instrument: Instrument, data: ScreeningCreate) -> dict[str, list[str]]:
    if data.language not in LANGUAGES:
        raise ValidationFailed(
            f"Unknown language “{data.language}”; use a code such as en or es.",
            fields={"language": "Choose the language the screening was done in."},
        )
    answers = data.answer_lists()
    missing, wrong = instruments.problems(instrument, answers)
    fields = {field_of(link_id): message for link_id, message in wrong.items()}
    for link_id in missing:
        fields[field_of(link_id)] = "Answer this question." + (
            " (Or mark it declined.)" if instrument.allows_declines else ""
        )
    if missing:
        texts = [item.text for link_id in missing if (item := instrument.item(link_id))]
        raise ValidationFailed(
            f"Not saved: {len(missing)} of {len(instrument.items)} questions are unanswered: "
            + "; ".join(f"{link_id} “{text}”" for link_id, text in zip(missing, texts, strict=True))
            + ". Nothing was saved.",
            fields=fields,
            extra={"missing": missing},
        )
    if wrong:
        raise ValidationFailed(
            "Not saved: "
            + "; ".join(f"{link_id}: {message}" for link_id, message in wrong.items())
            + " Nothing was saved.",
            fields=fields,
        )
    return answers


def rescreen_due(screened_on: dt.date, positive: bool) -> dt.date:
    months = RESCREEN_AFTER_POSITIVE_MONTHS if positive else RESCREEN_MONTHS
    return screened_on + relativedelta(months=months)


# --- reading -------------------------------------------------------------------------------


def _read(screening: Screening) -> ScreeningRead:
    instrument = instruments.get(screening.instrument)
    answers = []
    for link_id, codes in screening.answers.items():
        item = instrument.item(link_id) if instrument else None
        said = []
        for code in codes:
            option = item.option(code) if item else None
            display = "Declined to answer" if code == DECLINED else code
            said.append({"code": code, "display": option.display if option else display})
        answers.append(AnswerRead(link_id=link_id, text=item.text if item else "", answers=said))
    results = [
        DomainResultRead(
            domain=r["domain"],
            title=DOMAINS.get(r["domain"], r["domain"]),
            positive=bool(r["positive"]),
            total=r.get("total"),
        )
        for r in screening.results
    ]
    return ScreeningRead(
        id=screening.id,
        patient_id=screening.patient_id,
        instrument=screening.instrument,
        instrument_title=instrument.title if instrument else screening.instrument,
        status=screening.status,
        respondent=screening.respondent,
        language=screening.language,
        mode=screening.mode,
        screened_at=screening.screened_at,
        screened_on=screening.screened_on,
        positive=screening.positive,
        results=results,
        positive_domains=[r.domain for r in results if r.positive],
        answers=answers,
        rescreen_due_on=screening.rescreen_due_on,
        note=screening.note,
        status_reason=screening.status_reason,
        version=screening.version,
    )


def get(db: Session, actor: Actor, screening_id: uuid.UUID) -> ScreeningRead:
    screening = db.get(Screening, screening_id)
    if screening is None:
        raise NotFound(f"No screening with id {screening_id}")
    record(
        db,
        actor,
        Action.READ,
        entity_type="Screening",
        entity_id=screening.id,
        patient_id=screening.patient_id,
    )
    return _read(screening)


def for_patient(db: Session, actor: Actor, patient_id: uuid.UUID) -> list[ScreeningRead]:
    """The patient's screenings, newest first."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    rows = db.scalars(
        select(Screening)
        .where(Screening.patient_id == patient_id)
        .order_by(Screening.screened_at.desc(), Screening.id)
    ).all()
    record(db, actor, Action.READ, entity_type="Screening", patient_id=patient_id, reason="list")
    return [_read(s) for s in rows]


def _needs(db: Session, patient_id: uuid.UUID, status: str | None) -> list[NeedRead]:
    query = select(SocialNeed).where(SocialNeed.patient_id == patient_id)
    if status is not None:
        query = query.where(SocialNeed.status == status)
    order = (SocialNeed.identified_on.desc(), SocialNeed.domain, SocialNeed.id)
    rows = db.scalars(query.order_by(*order)).all()
    found = [NeedRead.model_validate(n) for n in rows]
    return sorted(found, key=lambda n: n.status != "open")


def needs(
    db: Session, actor: Actor, patient_id: uuid.UUID, status: str | None = None
) -> list[NeedRead]:
    """The patient's needs, open ones first, newest first."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    record(db, actor, Action.READ, entity_type="SocialNeed", patient_id=patient_id, reason="list")
    return _needs(db, patient_id, status)


def open_needs(db: Session, patient_id: uuid.UUID) -> list[NeedRead]:
    """The patient's open needs, newest first, each with its domain code (housing, food,
    transportation, utilities, safety). For other domains (community resources) to suggest
    help; it does not audit, so the caller audits the page it shows them on."""
    return _needs(db, patient_id, "open")


def rescreen(
    db: Session, patient_id: uuid.UUID, zone: str, actor: Actor | None = None
) -> RescreenRead:
    """When the patient is due to be screened again (None: never screened, due now). Given
    an ``actor``, the read is audited (a page that lists the screenings has audited it)."""
    if db.get(Patient, patient_id) is None:
        raise NotFound(f"No patient with id {patient_id}")
    if actor is not None:
        record(db, actor, Action.READ, entity_type="Screening", patient_id=patient_id, reason="due")
    last = db.scalars(
        select(Screening)
        .where(Screening.patient_id == patient_id, Screening.status == "completed")
        .order_by(Screening.screened_at.desc())
        .limit(1)
    ).first()
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    if last is None:
        return RescreenRead(patient_id=patient_id, last_screened_on=None, due_on=None, overdue=True)
    return RescreenRead(
        patient_id=patient_id,
        last_screened_on=last.screened_on,
        due_on=last.rescreen_due_on,
        overdue=today >= last.rescreen_due_on,
    )


# --- changing ------------------------------------------------------------------------------


def create(
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    data: ScreeningCreate,
    zone: str,
    now: dt.datetime | None = None,
) -> ScreeningRead:
    """Save a complete screening, scored, and record each positive domain as an open need
    (unless the patient already has that need open). Incomplete or invalid answers are
    refused naming each item, and nothing is saved."""
    patient = _live_patient(db, patient_id)
    instrument = instrument_of(data.instrument)
    answers = _check(instrument, data)
    moment = now or utcnow()
    day = moment.astimezone(ZoneInfo(zone)).date()
    results = instruments.score(instrument, answers)
    positive = any(r.positive for r in results)
    screening = Screening(
        patient_id=patient.id,
        instrument=instrument.code,
        instrument_version=instrument.version,
        status="completed",
        respondent=data.respondent,
        language=data.language,
        mode=data.mode,
        answers={item.link_id: answers[item.link_id] for item in instrument.items},
        results=[{"domain": r.domain, "positive": r.positive, "total": r.total} for r in results],
        positive=positive,
        screened_at=moment,
        screened_on=day,
        rescreen_due_on=rescreen_due(day, positive),
        note=data.note,
    )
    db.add(screening)
    db.flush()
    already = set(
        db.scalars(
            select(SocialNeed.domain).where(
                SocialNeed.patient_id == patient.id, SocialNeed.status == "open"
            )
        )
    )
    for result in results:
        if result.positive and result.domain not in already:
            need = SocialNeed(
                patient_id=patient.id,
                screening_id=screening.id,
                domain=result.domain,
                status="open",
                identified_on=day,
            )
            db.add(need)
            db.flush()
            record(
                db,
                actor,
                Action.CREATE,
                entity_type="SocialNeed",
                entity_id=need.id,
                patient_id=patient.id,
            )
    record(
        db,
        actor,
        Action.CREATE,
        entity_type="Screening",
        entity_id=screening.id,
        patient_id=patient.id,
    )
    return _read(screening)


def update_need(
    db: Session, actor: Actor, need_id: uuid.UUID, data: NeedUpdate, zone: str
) -> NeedRead:
    """Mark a need addressed or declined (closed today) or open again; change its note."""
    need = db.get(SocialNeed, need_id)
    if need is None:
        raise NotFound(f"No social need with id {need_id}")
    check_version("This need", need.version, data.version)
    sent = data.model_fields_set
    if need.status == "entered-in-error":
        raise Conflict(
            "This need came from a screening entered in error; it cannot change. Nothing was saved."
        )
    if data.status is not None and data.status != need.status:
        need.status = data.status
        today = utcnow().astimezone(ZoneInfo(zone)).date()
        need.closed_on = None if data.status == "open" else today
    if "note" in sent:
        need.note = data.note
    db.flush()
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="SocialNeed",
        entity_id=need.id,
        patient_id=need.patient_id,
    )
    return NeedRead.model_validate(need)


def mark_in_error(
    db: Session, actor: Actor, screening_id: uuid.UUID, data: ScreeningInError, zone: str
) -> ScreeningRead:
    """A screening recorded by mistake: marked entered in error (kept, never deleted), with
    the reason; the needs it found that are still open end with it (closed today). The
    patient's rescreen date then follows their last screening that stands."""
    screening = db.get(Screening, screening_id)
    if screening is None:
        raise NotFound(f"No screening with id {screening_id}")
    check_version("This screening", screening.version, data.version)
    if screening.status == "entered-in-error":
        raise Conflict("This screening is already marked entered in error. Nothing was saved.")
    screening.status = "entered-in-error"
    screening.status_reason = data.reason
    today = utcnow().astimezone(ZoneInfo(zone)).date()
    found = db.scalars(
        select(SocialNeed).where(
            SocialNeed.screening_id == screening.id, SocialNeed.status == "open"
        )
    ).all()
    for need in found:
        need.status = "entered-in-error"
        need.closed_on = today
    db.flush()
    for need in found:
        record(
            db,
            actor,
            Action.UPDATE,
            entity_type="SocialNeed",
            entity_id=need.id,
            patient_id=need.patient_id,
            reason="screening entered in error",
        )
    record(
        db,
        actor,
        Action.UPDATE,
        entity_type="Screening",
        entity_id=screening.id,
        patient_id=screening.patient_id,
        reason=data.reason[:200],
    )
    return _read(screening)
