"""Eligibility checks: a 270 inquiry built from a coverage, exchanged through the
clearinghouse connector, and the 271 answer kept and read.

A check is three short steps, so a slow clearinghouse never holds a database lock:
:func:`start` stores the check ``pending`` with its raw 270 (the caller commits),
:func:`exchange` sends it outside any transaction, and :func:`record` writes the outcome in
a new unit of work. :func:`check` runs the three for an entry point (a page, the API).

Outcomes: a readable 271 about the member asked -> ``complete`` (active or not, benefits)
or ``rejected`` (AAA, each with what to fix); an unreadable answer -> ``failed`` with the
codec's error (segment and position); an answer about another member -> ``failed`` naming
both; a transient connector error (timeout, 5xx, refused) -> still ``pending`` with the
next attempt after :func:`~carebridge.coverage.clearinghouse.retry_delay`, until
``clearinghouse_max_attempts`` are used, then ``failed``; any other connector error ->
``failed`` at once. A failed check raises a task for the patient's coordinators. The raw
answer is always kept, readable or not. Every read and change is audited with the patient.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from carebridge.coverage import service as coverage_service
from carebridge.coverage.clearinghouse import (
    X12,
    ClearinghouseError,
    Connector,
    connector_for,
    retry_delay,
)
from carebridge.coverage.eligibility_schemas import CheckRead, CheckSummary
from carebridge.coverage.models import Coverage, EligibilityCheck, Payer
from carebridge.coverage.x12.codec import X12Error
from carebridge.coverage.x12.control import next_control_number
from carebridge.coverage.x12.eligibility import (
    Dependent,
    EligibilityRequest,
    EligibilityResult,
    build_270,
    read_271,
)
from carebridge.db.session import WRITE_OPTION
from carebridge.lib.errors import Conflict, NotFound, ValidationFailed
from carebridge.lib.paging import Page
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Action, Actor
from carebridge.security.audit import record as audit
from carebridge.settings import Settings
from carebridge.tasks import service as tasks

TRIGGERS = ("manual", "batch", "api")
# How far from today a service date may be: payers answer for the past year and the coming
# months, not beyond.
PAST_LIMIT = dt.timedelta(days=365)
FUTURE_LIMIT = dt.timedelta(days=180)
# While one process exchanges a check, others leave it alone for this long beyond the
# connector's timeout; a process that dies mid-exchange leaves it to the worker after that.
LEASE_MARGIN = dt.timedelta(minutes=1)

# Service type codes (EB03) a coordinator meets, in words.
SERVICE_TYPES: dict[str, str] = {
    "1": "medical care",
    "30": "health benefit plan coverage",
    "33": "chiropractic",
    "47": "hospital",
    "48": "hospital inpatient",
    "50": "hospital outpatient",
    "62": "MRI and CT scans",
    "86": "emergency services",
    "88": "pharmacy",
    "98": "office visit",
    "AD": "occupational therapy",
    "AE": "physical medicine",
    "AL": "vision",
    "MH": "mental health",
    "PT": "physical therapy",
    "UC": "urgent care",
}


def lease(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=settings.clearinghouse_timeout_seconds) + LEASE_MARGIN


# --- the result as stored -----------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def result_json(result: EligibilityResult) -> dict[str, Any]:
    """The plain reading of a 271 result as stored in ``EligibilityCheck.result``."""
    pcp = result.primary_care_provider
    return {
        "level": result.level,
        "active": result.active,
        "plan_description": result.plan_description,
        "member_id": result.member_id,
        "last_name": result.last_name,
        "first_name": result.first_name,
        "birth_date": result.birth_date,
        "trace_numbers": list(result.trace_numbers),
        "authorization_required": result.authorization_required,
        "primary_care_provider": None
        if pcp is None
        else {
            "last_name": pcp.last_name,
            "first_name": pcp.first_name,
            "id_qualifier": pcp.id_qualifier,
            "id": pcp.id,
        },
        "rejections": [
            {
                "code": r.code,
                "follow_up": r.follow_up,
                "valid": r.valid,
                "explanation": r.explanation,
            }
            for r in result.rejections
        ],
        "benefits": [
            {
                "code": b.code,
                "kind": b.kind,
                "coverage_level": b.coverage_level,
                "service_types": list(b.service_types),
                "insurance_type": b.insurance_type,
                "plan_description": b.plan_description,
                "time_period": b.time_period,
                "amount": _text(b.amount),
                "percent": _text(b.percent),
                "authorization_required": b.authorization_required,
                "in_network": b.in_network,
            }
            for b in result.benefits
        ],
    }


@dataclass(frozen=True)
class Reading:
    """A 271 result in the words the coverage tab uses; amounts as Decimals."""

    copay: Decimal | None = None
    coinsurance: Decimal | None = None  # a fraction
    deductible: Decimal | None = None
    deductible_remaining: Decimal | None = None
    out_of_pocket: Decimal | None = None
    out_of_pocket_remaining: Decimal | None = None
    authorization_for: tuple[str, ...] = ()

    @property
    def deductible_met(self) -> Decimal | None:
        if self.deductible is None or self.deductible_remaining is None:
            return None
        return max(self.deductible - self.deductible_remaining, Decimal(0))

    @property
    def out_of_pocket_met(self) -> Decimal | None:
        if self.out_of_pocket is None or self.out_of_pocket_remaining is None:
            return None
        return max(self.out_of_pocket - self.out_of_pocket_remaining, Decimal(0))


def _in_network(benefit: dict[str, Any]) -> bool:
    return benefit.get("in_network") is not False and benefit.get("coverage_level") in (
        "IND",
        "",
        None,
    )


def reading(result: dict[str, Any] | None) -> Reading:
    """Copay for an office visit, coinsurance, deductible and out-of-pocket maximum (with what
    remains) for the individual in network, and the services that need authorization."""
    if not result:
        return Reading()
    found: dict[str, Decimal] = {}
    authorization: list[str] = []
    for benefit in result.get("benefits", []):
        services = benefit.get("service_types") or []
        if benefit.get("authorization_required") and benefit.get("code") not in ("B", "A"):
            for code in services:
                label = SERVICE_TYPES.get(code, f"service type {code}")
                if code != "30" and label not in authorization:
                    authorization.append(label)
        if not _in_network(benefit):
            continue
        amount = benefit.get("amount")
        percent = benefit.get("percent")
        kind, period = benefit.get("kind"), benefit.get("time_period")
        remaining = period == "29"
        key = None
        if kind == "copay" and amount is not None and ("98" in services or not services):
            key = "copay"
        elif kind == "coinsurance" and percent is not None:
            key = "coinsurance"
        elif kind in ("deductible", "out_of_pocket") and amount is not None:
            key = kind + ("_remaining" if remaining else "")
        if key is not None and key not in found:
            found[key] = Decimal(percent if key == "coinsurance" else amount)
    return Reading(
        copay=found.get("copay"),
        coinsurance=found.get("coinsurance"),
        deductible=found.get("deductible"),
        deductible_remaining=found.get("deductible_remaining"),
        out_of_pocket=found.get("out_of_pocket"),
        out_of_pocket_remaining=found.get("out_of_pocket_remaining"),
        authorization_for=tuple(authorization),
    )


# --- starting a check -------------------------------------------------------------------------


def _first_name(given_names: str) -> str:
    return given_names.split()[0] if given_names.split() else given_names


def _sex(value: str | None) -> str:
    return value if value in ("female", "male") else "unknown"


def _request(
    settings: Settings,
    payer: Payer,
    coverage: Coverage,
    patient: Patient,
    service_date: dt.date,
    trace: str,
) -> EligibilityRequest:
    dependent = None
    if coverage.relationship == "self":
        last, first = patient.family_name, _first_name(patient.given_names)
        born, sex, member_id = patient.birth_date, _sex(patient.sex), coverage.member_id
    else:
        if coverage.subscriber_birth_date is None:
            raise ValidationFailed(
                "The patient is not the subscriber and the subscriber's date of birth is not "
                "on file; add it to the coverage before checking eligibility.",
                fields={"subscriber_birth_date": "Enter the subscriber's date of birth."},
            )
        last = coverage.subscriber_family_name or ""
        first = _first_name(coverage.subscriber_given_names or "")
        born, sex = coverage.subscriber_birth_date, _sex(coverage.subscriber_sex)
        member_id = coverage.subscriber_member_id or coverage.member_id
        dependent = Dependent(
            patient.family_name, _first_name(patient.given_names), patient.birth_date,
            _sex(patient.sex),
        )  # fmt: skip
    return EligibilityRequest(
        payer_name=payer.name,
        payer_id=payer.payer_id,
        provider_name=settings.clinic_name,
        provider_npi=settings.clinic_npi,
        subscriber_last_name=last,
        subscriber_first_name=first,
        member_id=member_id,
        subscriber_birth_date=born,
        subscriber_sex=sex,
        service_date=service_date,
        trace_number=trace,
        trace_originator_id="1" + settings.clinic_tax_id,
        dependent=dependent,
    )


def _check_service_date(service_date: dt.date, today: dt.date) -> None:
    if service_date < today - PAST_LIMIT or service_date > today + FUTURE_LIMIT:
        raise ValidationFailed(
            f"Payers answer for dates of service from a year ago to six months ahead; "
            f"{service_date:%d %b %Y} is outside that. Nothing was sent.",
            fields={"service_date": "Enter a date within the last year or the next 6 months."},
        )


def start(
    db: Session,
    actor: Actor,
    settings: Settings,
    coverage_id: uuid.UUID,
    service_date: dt.date,
    trigger: str,
    *,
    now: dt.datetime | None = None,
    patient_id: uuid.UUID | None = None,
    appointment_id: uuid.UUID | None = None,
) -> EligibilityCheck:
    """Build the 270 and store the check ``pending`` (flushed; the caller commits before the
    exchange). Refuses an unknown or inactive coverage and a service date payers do not take."""
    now = now or utcnow()
    if trigger not in TRIGGERS:
        raise ValueError(f"unknown trigger {trigger!r}")
    coverage = db.get(Coverage, coverage_id)
    if coverage is None or (patient_id is not None and coverage.patient_id != patient_id):
        raise NotFound(f"No coverage with id {coverage_id}")
    if coverage.status != "active":
        raise Conflict(
            f"This coverage is {coverage_service.status_words(coverage.status).lower()}; check "
            "eligibility on the patient's active coverage. Nothing was sent."
        )
    _check_service_date(service_date, now.astimezone(ZoneInfo(settings.timezone)).date())
    patient = db.get(Patient, coverage.patient_id)
    payer = db.get(Payer, coverage.payer_ref)
    assert patient is not None  # foreign keys
    assert payer is not None
    trace = uuid.uuid4().hex.upper()
    request = _request(settings, payer, coverage, patient, service_date, trace)
    control = next_control_number(db, settings.x12_sender_id)
    try:
        x12 = build_270(
            request,
            control_number=control,
            sender_id=settings.x12_sender_id,
            receiver_id=settings.x12_receiver_id,
            now=now,
        )
    except ValueError as exc:  # a separator character typed into a name or id
        raise ValidationFailed(
            f"The inquiry cannot be built from this coverage: {exc}. Correct the coverage "
            "and try again. Nothing was sent."
        ) from None
    check = EligibilityCheck(
        patient_id=coverage.patient_id,
        coverage_id=coverage.id,
        appointment_id=appointment_id,
        service_date=service_date,
        trigger=trigger,
        status="pending",
        trace_number=trace,
        control_number=control,
        request_x12=x12,
        attempts=0,
        next_attempt_at=now + lease(settings),
    )
    db.add(check)
    db.flush()
    audit(
        db, actor, Action.CREATE, entity_type="EligibilityCheck", entity_id=check.id,
        patient_id=check.patient_id, reason=f"270 for service on {service_date.isoformat()}",
    )  # fmt: skip
    return check


# --- the exchange ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """What the exchange produced: the answer's text, or why there is none."""

    text: str | None = None
    error: ClearinghouseError | None = None


def exchange(connector: Connector, request_x12: str) -> Reply:
    """Send the 270 (outside any transaction); never raises for a connector failure."""
    try:
        return Reply(text=connector.exchange(request_x12, X12))
    except ClearinghouseError as exc:
        return Reply(error=exc)


# --- recording the outcome --------------------------------------------------------------------


def _match(results: list[EligibilityResult], check: EligibilityCheck, member_id: str) -> (
    EligibilityResult | str
):  # fmt: skip
    """The result about the member asked, or why none is."""
    if not results:
        return "The payer's answer holds no 271 eligibility response."
    for result in results:
        if check.trace_number in result.trace_numbers:
            if result.member_id and result.member_id.upper() != member_id.upper():
                return (
                    f"The payer's answer is about member {result.member_id}, not member "
                    f"{member_id} that was asked about; it was not applied."
                )
            return result
    if len(results) == 1 and results[0].level == "receiver":
        return results[0]  # rejected before any member loop: nothing to match on
    traces = ", ".join(t for r in results for t in r.trace_numbers) or "none"
    members = ", ".join(r.member_id for r in results if r.member_id) or "none"
    return (
        f"The payer's answer is about another inquiry (trace {traces}, member {members}), not "
        f"trace {check.trace_number} for member {member_id}; it was not applied."
    )


def _member_id(db: Session, check: EligibilityCheck) -> str:
    coverage = db.get(Coverage, check.coverage_id)
    assert coverage is not None
    if coverage.relationship == "self":
        return coverage.member_id
    return coverage.subscriber_member_id or coverage.member_id


def _fail(db: Session, actor: Actor, check: EligibilityCheck, reason: str) -> None:
    check.status = "failed"
    check.next_attempt_at = None
    check.last_error = reason
    coverage = db.get(Coverage, check.coverage_id)
    payer = db.get(Payer, coverage.payer_ref) if coverage else None
    task = tasks.create(
        db,
        actor,
        title=f"Eligibility check with {payer.name if payer else 'the payer'} failed"[:200],
        description=(
            f"The eligibility check for service on {check.service_date:%d %b %Y} could not be "
            f"completed after {check.attempts} attempt(s): {reason} Check the coverage and run "
            "the check again, or call the payer."
        ),
        patient_id=check.patient_id,
        queue="coordinators",
        focus_type="EligibilityCheck",
        focus_id=check.id,
        dedupe_key=f"eligibility-failed:{check.id}",
    )
    check.task_id = task.id


def record(
    db: Session,
    actor: Actor,
    settings: Settings,
    check_id: uuid.UUID,
    reply: Reply,
    *,
    now: dt.datetime | None = None,
) -> EligibilityCheck:
    """Write the outcome of one attempt. A check that is no longer pending (another process
    recorded it first) is left as it is."""
    now = now or utcnow()
    check = db.get(EligibilityCheck, check_id, with_for_update=True)
    if check is None:
        raise NotFound(f"No eligibility check with id {check_id}")
    if check.status != "pending":
        return check
    check.attempts += 1
    if reply.error is not None:
        check.last_error = str(reply.error)
        if reply.error.transient and check.attempts < settings.clearinghouse_max_attempts:
            check.next_attempt_at = now + retry_delay(check.attempts)
        else:
            gave_up = (
                f"Gave up after {check.attempts} attempts; the last said: {reply.error}."
                if reply.error.transient
                else f"The clearinghouse refused the inquiry: {reply.error}."
            )
            _fail(db, actor, check, gave_up)
    else:
        _answered(db, actor, check, reply.text or "", now)
    check.version += 1
    db.flush()
    audit(
        db, actor, Action.UPDATE, entity_type="EligibilityCheck", entity_id=check.id,
        patient_id=check.patient_id, reason=f"attempt {check.attempts}: {check.status}",
    )  # fmt: skip
    return check


def _answered(
    db: Session, actor: Actor, check: EligibilityCheck, text: str, now: dt.datetime
) -> None:
    check.response_x12 = text  # kept as received, readable or not
    check.answered_at = now
    check.next_attempt_at = None
    try:
        results = read_271(text)
    except X12Error as exc:
        _fail(db, actor, check, f"The payer's answer is not readable X12: {exc}.")
        return
    found = _match(results, check, _member_id(db, check))
    if isinstance(found, str):
        _fail(db, actor, check, found)
        return
    check.result = result_json(found)
    check.last_error = None
    if found.rejections:
        check.status = "rejected"
        check.active = None
    else:
        check.status = "complete"
        check.active = found.active


def check(
    db: Session,
    actor: Actor,
    coverage_id: uuid.UUID,
    service_date: dt.date,
    trigger: str,
    *,
    settings: Settings,
    connector: Connector | None = None,
    patient_id: uuid.UUID | None = None,
    appointment_id: uuid.UUID | None = None,
) -> CheckRead:
    """One whole check, for an entry point that owns ``db`` (a request, a command): the
    pending check is committed before the exchange, and the outcome is recorded in a new
    transaction of the same session, which the entry point commits."""
    made = start(
        db, actor, settings, coverage_id, service_date, trigger,
        patient_id=patient_id, appointment_id=appointment_id,
    )  # fmt: skip
    check_id, payload = made.id, made.request_x12
    db.commit()
    reply = exchange(connector or connector_for(settings), payload)
    db.connection(execution_options={WRITE_OPTION: True})
    done = record(db, actor, settings, check_id, reply)
    return CheckRead.model_validate(done)


# --- the worker's part ------------------------------------------------------------------------


def claim_due(
    db: Session, settings: Settings, now: dt.datetime, limit: int
) -> list[tuple[uuid.UUID, str]]:
    """Pending checks whose next attempt is due, leased to this worker (other workers skip
    them until the lease ends): their ids and 270s."""
    query = (
        select(EligibilityCheck)
        .where(EligibilityCheck.status == "pending", EligibilityCheck.next_attempt_at <= now)
        .order_by(EligibilityCheck.next_attempt_at)
        .limit(limit)
    )
    if db.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed = []
    for row in db.scalars(query):
        row.next_attempt_at = now + lease(settings)
        claimed.append((row.id, row.request_x12))
    db.flush()
    return claimed


# --- reading checks ---------------------------------------------------------------------------


def _audit_read(db: Session, actor: Actor, patient_id: uuid.UUID, entity: object = None) -> None:
    audit(
        db, actor, Action.READ, entity_type="EligibilityCheck", entity_id=entity,
        patient_id=patient_id,
    )  # fmt: skip


def get(
    db: Session, actor: Actor, check_id: uuid.UUID, *, patient_id: uuid.UUID | None = None
) -> CheckRead:
    found = db.get(EligibilityCheck, check_id)
    if found is None or (patient_id is not None and found.patient_id != patient_id):
        raise NotFound(f"No eligibility check with id {check_id}")
    _audit_read(db, actor, found.patient_id, found.id)
    return CheckRead.model_validate(found)


def history(
    db: Session,
    actor: Actor,
    coverage_id: uuid.UUID,
    page: Page,
    *,
    patient_id: uuid.UUID | None = None,
) -> tuple[list[CheckSummary], bool]:
    """A coverage's checks, newest first; and whether there are more."""
    coverage = db.get(Coverage, coverage_id)
    if coverage is None or (patient_id is not None and coverage.patient_id != patient_id):
        raise NotFound(f"No coverage with id {coverage_id}")
    rows = db.scalars(
        select(EligibilityCheck)
        .where(EligibilityCheck.coverage_id == coverage_id)
        .order_by(EligibilityCheck.created_at.desc(), EligibilityCheck.id)
        .offset(page.offset)
        .limit(page.size + 1)
    ).all()
    _audit_read(db, actor, coverage.patient_id)
    return [CheckSummary.model_validate(r) for r in rows[: page.size]], len(rows) > page.size


def for_patient(
    db: Session, actor: Actor, patient_id: uuid.UUID, *, per_coverage: int = 10
) -> dict[uuid.UUID, list[CheckSummary]]:
    """Each of the patient's coverages' latest checks, newest first (for the coverage tab)."""
    rows = db.scalars(
        select(EligibilityCheck)
        .where(EligibilityCheck.patient_id == patient_id)
        .order_by(EligibilityCheck.created_at.desc(), EligibilityCheck.id)
    )
    found: dict[uuid.UUID, list[CheckSummary]] = {}
    for row in rows:
        listed = found.setdefault(row.coverage_id, [])
        if len(listed) < per_coverage:
            listed.append(CheckSummary.model_validate(row))
    _audit_read(db, actor, patient_id)
    return found
