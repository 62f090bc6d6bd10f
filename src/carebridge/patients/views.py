"""Patient screens: find a patient, register one (with the duplicate check), the chart with
its banner and tabs (summary, health history, contacts and consent, timeline), editing
demographics, merging a duplicate, and the ICD-10-CM type-ahead.

Pages only: every use case is a call into ``patients.service``, which audits reads and
changes. Forms post with a CSRF token and, when something is wrong, come back with the
message next to the field and everything typed still in place.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from carebridge.careplans.barriers import banner_words
from carebridge.lib.errors import AppError, Conflict, NotFound, ValidationFailed
from carebridge.patients import codes, service, terminology
from carebridge.patients.models import Patient, Telecom
from carebridge.patients.schemas import (
    ContactConsentCreate,
    DuplicateCandidate,
    IdentifierIn,
    ItemStatusUpdate,
    PatientCreate,
    PatientRead,
    PatientUpdate,
    RelatedPersonCreate,
    RelatedPersonUpdate,
    SharingConsentCreate,
    SocialHistoryIn,
)
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.models import User
from carebridge.security.roles import Permission, Role, allows
from carebridge.web.render import (
    clinic_today,
    environment,
    flash,
    format_day,
    format_when,
    go_back,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.PATIENT_READ))]
Writer = Annotated[Actor, Depends(Require(Permission.PATIENT_WRITE))]
HistoryReader = Annotated[Actor, Depends(Require(Permission.HISTORY_READ))]
HistoryWriter = Annotated[Actor, Depends(Require(Permission.HISTORY_WRITE))]
Merger = Annotated[Actor, Depends(Require(Permission.PATIENT_MERGE))]

PAGE_SIZE = 25
MAX_LISTED = 200
SUGGESTIONS = 8


async def _form(request: Request) -> FormData:
    """The posted form (url-encoded or multipart), parsed once; the CSRF check reads the same."""
    return await request.form()


Posted = Annotated[FormData, Depends(_form)]


# --- reading a form ----------------------------------------------------------------------

LIST_FIELDS = frozenset({"race", "categories"})


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _texts(form: FormData, name: str) -> list[str]:
    return [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]


def _typed(form: FormData) -> dict[str, Any]:
    """What was typed, to put back into the form when it comes back with errors."""
    kept: dict[str, Any] = {}
    for name in form:
        if name == "csrf_token":
            continue
        values = [v for v in form.getlist(name) if isinstance(v, str)]
        kept[name] = values if name in LIST_FIELDS else (values[-1] if values else "")
    return kept


def _filled(form: FormData, names: Iterable[str]) -> dict[str, str]:
    """The named fields that are not blank (blank ones are left out, so defaults apply)."""
    return {name: value for name in names if (value := _text(form, name))}


# --- turning validation errors into words ------------------------------------------------

LABELS: dict[str, str] = {
    "family_name": "legal family name",
    "given_names": "legal given names",
    "preferred_name": "preferred name",
    "birth_date": "date of birth",
    "sex": "sex",
    "language": "language",
    "language_other": "language code",
    "email": "email address",
    "postal_code": "ZIP code",
    "phone1": "phone number",
    "phone2": "second phone number",
    "ec_name": "emergency contact's name",
    "ec_relationship": "emergency contact's relationship",
    "ec_phone": "emergency contact's phone",
    "id_type": "identifier type",
    "id_system": "issuer of the identifier",
    "id_value": "identifier",
    "code": "ICD-10-CM code",
    "substance": "substance",
    "name": "name",
    "relationship": "relationship",
    "condition": "condition",
    "kind": "kind of event",
    "description": "description",
    "related_person_id": "person",
    "categories": "what may be shared",
    "signed_on": "date signed",
    "channel": "channel",
    "decision": "decision",
    "effective_from": "start date",
    "mrn": "MRN of the duplicate chart",
    "reason": "reason",
    "duplicate_override_reason": "reason to register anyway",
    "deceased_date": "date of death",
    "status": "status",
    "primary_coordinator_id": "primary coordinator",
}
CHOSEN = frozenset(
    {
        "sex",
        "language",
        "ec_relationship",
        "id_type",
        "relationship",
        "kind",
        "related_person_id",
        "categories",
        "channel",
        "decision",
        "status",
    }
)
PATTERN_HINTS = {
    "postal_code": "Use a 5-digit ZIP code, e.g. 60614 or 60614-1234.",
    "language": "Use a language code such as es, pt-BR or asl.",
    "language_other": "Use a language code such as ne (Nepali) or pt-BR.",
    "rxnorm": "An RxNorm code is digits only, e.g. 860975.",
    "mrn": "An MRN is 8 digits.",
}


def plain(name: str, error: Any) -> str:
    """One pydantic error, said as how to fix it."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    label = LABELS.get(name, name.replace("_", " "))
    if name == "categories":
        return "Tick at least one kind of information that may be shared."
    if kind in ("missing", "string_too_short", "too_short"):
        return f"{'Choose' if name in CHOSEN else 'Enter'} the {label}."
    if kind in ("date_from_datetime_parsing", "date_parsing", "date_type"):
        return f"Enter the {label} as YYYY-MM-DD, e.g. 1956-03-12."
    if kind == "string_pattern_mismatch":
        return PATTERN_HINTS.get(name, f"Check the format of the {label}.")
    if kind == "string_too_long":
        return f"Use at most {ctx.get('max_length')} characters."
    if kind == "too_long":
        return "Too many entries; remove some."
    if kind in ("literal_error", "enum", "uuid_parsing", "uuid_type"):
        return f"Choose the {label} from the list."
    if kind in ("int_parsing", "int_from_float"):
        return "Enter a whole number."
    if kind in ("greater_than_equal", "less_than_equal"):
        return "Enter a number in the range shown."
    if kind == "value_error":
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        if name == "birth_date" and "future" in message:
            return "Date of birth is in the future; check the year."
        if message.startswith("unknown "):
            return f"Choose the {label} from the list."
        return _sentence(message)
    return _sentence(str(error.get("msg", "Check this field")))


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def errors_of(exc: ValidationError, where: Callable[[tuple[Any, ...]], str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in exc.errors():
        name = where(tuple(error["loc"]))
        found.setdefault(name, plain(name, error))
    return found


def _flat(loc: tuple[Any, ...]) -> str:
    return str(loc[0]) if loc else "form"


def _patient_field(loc: tuple[Any, ...]) -> str:
    """Where a PatientCreate / PatientUpdate error belongs on the form."""
    if not loc:
        return "form"
    head = str(loc[0])
    if head == "phones" and len(loc) >= 2:
        number = int(loc[1]) + 1
        return f"phone{number}_use" if loc[-1] == "use" else f"phone{number}"
    if head == "emergency_contacts":
        return "ec_" + (str(loc[2]) if len(loc) >= 3 else "name")
    if head == "identifiers":
        return "id_" + (str(loc[2]) if len(loc) >= 3 else "value")
    return head


SERVICE_FIELDS = {"identifiers": "id_value"}


def app_errors(exc: AppError, default: str = "form") -> dict[str, str]:
    if exc.fields:
        return {SERVICE_FIELDS.get(k, k): _sentence(v) for k, v in exc.fields.items()}
    return {default: exc.detail}


# --- option lists ------------------------------------------------------------------------

WORDS = {
    "asked-declined": "Asked, declined",
    "she/her": "she/her",
    "he/him": "he/him",
    "they/them": "they/them",
    "sms": "Text message (SMS)",
    "voice": "Phone call",
    "MR": "Other organisation's MRN",
}


def words(value: str) -> str:
    return WORDS.get(value, value.replace("-", " ").capitalize())


def _options(values: Iterable[str], blank: str | None = None) -> list[tuple[str, str]]:
    found = [("", blank)] if blank is not None else []
    return found + [(v, words(v)) for v in values]


def _pairs(table: dict[str, str], blank: str | None = None) -> list[tuple[str, str]]:
    return ([("", blank)] if blank is not None else []) + list(table.items())


OPTIONS: dict[str, list[tuple[str, str]]] = {
    "sex": _options([s.value for s in codes.Sex], "Choose…"),
    "gender_identity": _options([g.value for g in codes.GenderIdentity], "Not recorded"),
    "pronouns": _options([p.value for p in codes.Pronouns], "Not recorded"),
    "language": [*_pairs(codes.LANGUAGES), ("other", "Other (type the code)")],
    "race": _pairs(codes.RACES),
    "ethnicity": _pairs(codes.ETHNICITIES, "Not recorded"),
    "telecom_use": _options(codes.options(codes.TelecomUse)),
    "contact_method": _options([c.value for c in codes.ContactMethod], "No preference"),
    "relationship": _pairs(codes.RELATIONSHIPS, "Choose…"),
    "identifier_type": _pairs(codes.IDENTIFIER_TYPES, "Choose…"),
    "patient_status": _options(("active", "inactive", "deceased")),
    "condition_status": _options(codes.options(codes.ConditionStatus)),
    "verification": _options(codes.options(codes.VerificationStatus)[:4]),
    "allergy_type": _options(codes.options(codes.AllergyType)),
    "allergy_category": _options(codes.options(codes.AllergyCategory), "Not recorded"),
    "criticality": _options(codes.options(codes.Criticality), "Not recorded"),
    "severity": _options(codes.options(codes.Severity), "Not recorded"),
    "event_kind": _options(codes.options(codes.EventKind)),
    "tobacco": _options(codes.options(codes.Tobacco), "Not recorded"),
    "alcohol": _options(codes.options(codes.Alcohol), "Not recorded"),
    "living": _options(codes.options(codes.Living), "Not recorded"),
    "yes_no": [("", "Not recorded"), ("yes", "Yes"), ("no", "No")],
    "channel": _options([c.value for c in codes.Channel], "Choose…"),
    "decision": [("permit", "Permits contact"), ("deny", "Refuses contact")],
    "sharing": _pairs(codes.SHARING_CATEGORIES),
    "person_status": _options(codes.options(codes.RecordStatus)),
}
ITEM_STATUS_OPTIONS = {kind: _options(values) for kind, values in service.ITEM_STATUSES.items()}


# --- time --------------------------------------------------------------------------------


# --- the chart: banner and permissions ---------------------------------------------------


@dataclass
class Chart:
    """Everything the banner and the tabs show about one patient, loaded once per page."""

    patient: PatientRead
    phones: list[Telecom]
    coordinator: str | None
    language: str
    can: dict[str, bool]
    allergy_items: list[dict[str, Any]] | None = None  # None: the role may not see history
    active_allergies: list[str] = field(default_factory=list)
    barriers: list[str] = field(default_factory=list)  # active barriers to care, in words

    @property
    def name(self) -> str:
        return f"{self.patient.family_name}, {self.patient.given_names}"


def _can(actor: Actor) -> dict[str, bool]:
    return {
        "write": allows(actor.role, Permission.PATIENT_WRITE),
        "history": allows(actor.role, Permission.HISTORY_READ),
        "history_write": allows(actor.role, Permission.HISTORY_WRITE),
        "merge": allows(actor.role, Permission.PATIENT_MERGE),
    }


def _active_phones(db: Session, patient_id: uuid.UUID) -> list[Telecom]:
    return list(
        db.scalars(
            select(Telecom)
            .where(
                Telecom.patient_id == patient_id,
                Telecom.system == "phone",
                Telecom.status == "active",
            )
            .order_by(Telecom.rank)
        )
    )


def _display_name(db: Session, user_id: uuid.UUID | None) -> str | None:
    if user_id is None:
        return None
    user = db.get(User, user_id)
    return user.display_name if user is not None else None


def open_chart(
    request: Request, db: Session, actor: Actor, patient_id: uuid.UUID, tab: str = ""
) -> Chart | Response:
    """The patient's chart (the read is audited by the service), or a redirect to the
    surviving chart when this one was merged."""
    patient = service.get(db, actor, patient_id)
    if patient.merged_into_id is not None:
        survivor = db.get(Patient, patient.merged_into_id)
        response = redirect(f"/patients/{patient.merged_into_id}{tab}")
        flash(
            response,
            request,
            f"Chart {patient.mrn} was merged into chart {survivor.mrn if survivor else ''}; "
            "you are looking at the surviving chart.",
            "info",
        )
        return response
    can = _can(actor)
    chart = Chart(
        patient=patient,
        phones=_active_phones(db, patient.id),
        coordinator=_display_name(db, patient.primary_coordinator_id),
        language=codes.LANGUAGES.get(patient.language, patient.language),
        can=can,
        barriers=banner_words(db, patient.id),
    )
    if can["history"]:
        chart.allergy_items = service.items(db, actor, patient.id, "allergies")
        chart.active_allergies = [
            str(a["substance"]) for a in chart.allergy_items if a["clinical_status"] == "active"
        ]
    return chart


def chart_page(
    request: Request,
    template: str,
    chart: Chart,
    context: dict[str, Any],
    *,
    tab: str,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        template,
        {
            "chart": chart,
            "p": chart.patient,
            "tab": tab,
            "codes": codes,
            "words": words,
            "options": OPTIONS,
            "today": clinic_today(request),
            **context,
        },
        status_code=status_code,
        active="patients",
    )


def live_chart(db: Session, patient_id: uuid.UUID) -> Patient:
    """The patient a change is for; a merged chart takes no changes."""
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"No patient with id {patient_id}")
    if patient.status == "merged":
        raise Conflict(
            f"Chart {patient.mrn} was merged into another chart; open the surviving chart "
            "and make the change there. Nothing was saved."
        )
    return patient


# --- find a patient ------------------------------------------------------------------------


@router.get("/patients")
def patient_list(request: Request, db: Db, actor: Reader, q: str = "", shown: int = 0) -> Response:
    query = q.strip()[:100]
    limit = min(max(shown, PAGE_SIZE), MAX_LISTED)
    found, more = service.search(db, actor, query, limit=limit) if query else ([], False)
    return render(
        request,
        "patients/list.html",
        {
            "q": query,
            "found": found,
            "more": more and limit < MAX_LISTED,
            "capped": more and limit >= MAX_LISTED,
            "more_url": "/patients?" + urlencode({"q": query, "shown": limit + PAGE_SIZE}),
            "can_register": allows(actor.role, Permission.PATIENT_WRITE),
            "search_page": True,  # its own search box takes "/", not the top bar's
        },
        active="patients",
    )


@router.get("/patients/icd10-suggest")
def icd10_suggest(actor: Reader, q: str = "") -> Response:
    """The type-ahead's options as a small HTML list (our script puts them in the listbox)."""
    matches = terminology.search_icd10(q[:100], SUGGESTIONS) if q.strip() else []
    page = environment().get_template("patients/icd10_options.html").render(matches=matches, q=q)
    return HTMLResponse(page)


# --- registration --------------------------------------------------------------------------


def _coordinators(db: Session) -> list[tuple[str, str]]:
    users = db.scalars(
        select(User)
        .where(User.role == Role.COORDINATOR.value, User.is_active.is_(True))
        .order_by(User.display_name)
    )
    return [("", "Not assigned")] + [(str(u.id), u.display_name) for u in users]


def _intake_page(
    request: Request,
    db: Session,
    form: dict[str, Any],
    errors: dict[str, str],
    candidates: Sequence[DuplicateCandidate] = (),
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "patients/new.html",
        {
            "form": form,
            "errors": errors,
            "candidates": candidates,
            "options": OPTIONS,
            "coordinators": _coordinators(db),
        },
        status_code=status_code,
        active="patients",
    )


@router.get("/patients/new")
def intake_form(request: Request, db: Db, actor: Writer) -> Response:
    form: dict[str, Any] = {"language": "en", "phone1_use": "mobile", "phone2_use": "home"}
    if actor.role == Role.COORDINATOR.value and actor.user_id is not None:
        form["primary_coordinator_id"] = str(actor.user_id)
    return _intake_page(request, db, form, {})


DEMOGRAPHIC_TEXT = (
    "preferred_name",
    "gender_identity",
    "pronouns",
    "ethnicity",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "preferred_contact_method",
    "preferred_contact_times",
    "alerts",
    "primary_coordinator_id",
)


def _language(form: FormData) -> str:
    chosen = _text(form, "language")
    return _text(form, "language_other") if chosen == "other" else chosen


def _demographics(form: FormData, *, blanks: bool) -> dict[str, Any]:
    """The demographic fields of the intake and edit forms. ``blanks``: send blank fields as
    None (the edit form clears them) rather than leaving them out."""
    data: dict[str, Any] = {}
    for name in DEMOGRAPHIC_TEXT:
        value = _text(form, name)
        if value or blanks:
            data[name] = value or None
    data["language"] = _language(form) or "en"
    data["interpreter_needed"] = bool(_text(form, "interpreter_needed"))
    data["race"] = _texts(form, "race")
    phones = []
    for n in (1, 2):
        number = _text(form, f"phone{n}")
        if number:
            phones.append({"number": number, "use": _text(form, f"phone{n}_use") or "mobile"})
    data["phones"] = phones
    return data


def _patient_create(form: FormData) -> dict[str, Any]:
    data = _demographics(form, blanks=False)
    data.update(_filled(form, ("family_name", "given_names", "birth_date", "sex")))
    contact = _filled(form, ("ec_name", "ec_relationship", "ec_phone"))
    if contact:
        data["emergency_contacts"] = [{k.removeprefix("ec_"): v for k, v in contact.items()}]
    ident = _filled(form, ("id_type", "id_system", "id_value"))
    if ident:
        data["identifiers"] = [{k.removeprefix("id_"): v for k, v in ident.items()}]
    reason = _text(form, "duplicate_override_reason")
    if reason:
        data["duplicate_override_reason"] = reason
    return data


def _likely(db: Session, data: PatientCreate) -> list[DuplicateCandidate]:
    return [c for c in service.find_duplicates(db, data) if c.score >= service.LIKELY]


@router.post("/patients/new", dependencies=[Csrf])
def register(request: Request, db: Db, actor: Writer, form: Posted) -> Response:
    typed = _typed(form)
    try:
        data = PatientCreate.model_validate(_patient_create(form))
    except ValidationError as exc:
        return _intake_page(request, db, typed, errors_of(exc, _patient_field), status_code=422)
    if _text(form, "override") and not data.duplicate_override_reason:
        errors = {
            "duplicate_override_reason": "Say why this is a different person, e.g. "
            "'twin brother; different SSN'."
        }
        return _intake_page(request, db, typed, errors, _likely(db, data), status_code=422)
    try:
        with db.begin_nested():
            patient = service.register(db, actor, data)
    except service.DuplicateSuspected as exc:
        candidates = [DuplicateCandidate.model_validate(c) for c in exc.extra["candidates"]]
        return _intake_page(request, db, typed, {}, candidates, status_code=409)
    except AppError as exc:
        return _intake_page(request, db, typed, app_errors(exc), status_code=exc.status)
    message = f"{patient.given_names} {patient.family_name} registered with MRN {patient.mrn}."
    if _text(form, "override"):
        message += " Your reason for registering despite a possible duplicate was recorded."
    return go_back(request, f"/patients/{patient.id}", message)


# --- the chart: summary --------------------------------------------------------------------


def _summary(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    section: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id)
    if isinstance(chart, Response):
        return chart
    contacts = service.related_persons(db, actor, patient_id)
    return chart_page(
        request,
        "patients/summary.html",
        chart,
        {
            "section": section,
            "form": form or {},
            "errors": errors or {},
            "emergency": [r for r in contacts if r.emergency_contact and r.status == "active"],
        },
        tab="summary",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}")
def chart_summary(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    return _summary(request, db, actor, patient_id)


@router.post("/patients/{patient_id}/identifiers", dependencies=[Csrf])
def add_identifier(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    try:
        data = IdentifierIn.model_validate(
            {k.removeprefix("id_"): v for k, v in typed.items() if k.startswith("id_")}
        )
        live_chart(db, patient_id)
        with db.begin_nested():
            service.add_identifier(db, actor, patient_id, data)
    except ValidationError as exc:
        errors = errors_of(exc, lambda loc: "id_" + _flat(loc))
    except (ValidationFailed, Conflict) as exc:
        errors = app_errors(exc, "id_value")
    else:
        return go_back(request, f"/patients/{patient_id}#identifiers", "Identifier added.")
    return _summary(
        request,
        db,
        actor,
        patient_id,
        section="identifier",
        form=typed,
        errors=errors,
        status_code=422,
    )


MRN_TYPED = re.compile(r"[\s-]")


@router.post("/patients/{patient_id}/merge", dependencies=[Csrf])
def merge(request: Request, db: Db, actor: Merger, patient_id: uuid.UUID, form: Posted) -> Response:
    typed = _typed(form)
    mrn = MRN_TYPED.sub("", _text(form, "mrn"))
    reason = _text(form, "reason")
    errors: dict[str, str] = {}
    duplicate = None
    if not mrn:
        errors["mrn"] = "Enter the MRN of the duplicate chart (8 digits, on its banner)."
    else:
        duplicate = db.scalar(select(Patient).where(Patient.mrn == mrn))
        if duplicate is None:
            errors["mrn"] = f"No chart has MRN {mrn}; check the number on the duplicate's banner."
        elif duplicate.id == patient_id:
            errors["mrn"] = f"MRN {mrn} is this chart; enter the duplicate's MRN."
        elif duplicate.status == "merged":
            errors["mrn"] = f"Chart {mrn} was already merged into another chart."
    if not reason:
        errors["reason"] = "Say why these charts are the same person."
    if not errors and duplicate is not None:
        try:
            with db.begin_nested():
                survivor = service.merge(db, actor, patient_id, duplicate.id, reason)
        except AppError as exc:
            errors = app_errors(exc, "mrn")
        else:
            return go_back(
                request,
                f"/patients/{survivor.id}",
                f"Chart {mrn} ({duplicate.given_names} {duplicate.family_name}) was merged "
                f"into this chart. Its MRN is kept as an identifier here.",
            )
    return _summary(
        request,
        db,
        actor,
        patient_id,
        section="merge",
        form=typed,
        errors=errors,
        status_code=422,
    )


# --- edit demographics ---------------------------------------------------------------------


def _edit_values(patient: PatientRead, phones: Sequence[Telecom]) -> dict[str, Any]:
    form: dict[str, Any] = {
        name: "" if getattr(patient, name) is None else str(getattr(patient, name))
        for name in (
            "family_name",
            "given_names",
            "birth_date",
            "sex",
            *DEMOGRAPHIC_TEXT,
            "status",
            "deceased_date",
            "version",
        )
    }
    if patient.language in codes.LANGUAGES:
        form["language"] = patient.language
    else:
        form["language"], form["language_other"] = "other", patient.language
    form["interpreter_needed"] = "yes" if patient.interpreter_needed else ""
    form["race"] = list(patient.race)
    for n, phone in enumerate(phones[:2], start=1):
        form[f"phone{n}"] = phone.value
        form[f"phone{n}_use"] = phone.use
    return form


def _edit_page(
    request: Request,
    db: Session,
    chart: Chart,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    conflict: str | None = None,
    status_code: int = 200,
) -> Response:
    return chart_page(
        request,
        "patients/edit.html",
        chart,
        {
            "form": form,
            "errors": errors,
            "conflict": conflict,
            "coordinators": _coordinators(db),
        },
        tab="summary",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/edit")
def edit_form(request: Request, db: Db, actor: Writer, patient_id: uuid.UUID) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/edit")
    if isinstance(chart, Response):
        return chart
    return _edit_page(request, db, chart, _edit_values(chart.patient, chart.phones), {})


REQUIRED_ON_EDIT = {
    "family_name": "Enter the legal family name.",
    "given_names": "Enter the legal given names.",
    "birth_date": "Enter the date of birth.",
    "sex": "Choose the sex.",
}


@router.post("/patients/{patient_id}/edit", dependencies=[Csrf])
def edit_save(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    data = _demographics(form, blanks=True)
    data.update(_filled(form, ("family_name", "given_names", "birth_date", "sex")))
    data["status"] = _text(form, "status") or "active"
    data["deceased_date"] = _text(form, "deceased_date") or None
    data["version"] = _text(form, "version")
    errors = {k: v for k, v in REQUIRED_ON_EDIT.items() if k not in data}
    update = None
    try:
        update = PatientUpdate.model_validate(data)
    except ValidationError as exc:
        errors = errors_of(exc, lambda loc: _patient_field(loc) if loc else "deceased_date") | (
            errors
        )
    if errors or update is None:
        chart = open_chart(request, db, actor, patient_id, "/edit")
        if isinstance(chart, Response):
            return chart
        return _edit_page(request, db, chart, typed, errors, status_code=422)
    try:
        with db.begin_nested():
            service.update_patient(db, actor, patient_id, update)
    except Conflict as exc:
        chart = open_chart(request, db, actor, patient_id, "/edit")
        if isinstance(chart, Response):
            return chart
        current = exc.extra.get("current_version")
        if current is not None:
            typed["version"] = str(current)
        return _edit_page(
            request, db, chart, typed, {}, conflict=exc.detail, status_code=exc.status
        )
    except ValidationFailed as exc:
        chart = open_chart(request, db, actor, patient_id, "/edit")
        if isinstance(chart, Response):
            return chart
        return _edit_page(request, db, chart, typed, app_errors(exc), status_code=exc.status)
    return go_back(request, f"/patients/{patient_id}", "Demographics saved.")


# --- health history ------------------------------------------------------------------------

HISTORY_KINDS = ("conditions", "allergies", "medications", "family-history", "past-events")
ITEM_FIELDS: dict[str, tuple[str, ...]] = {
    "conditions": ("code", "clinical_status", "verification_status", "onset_date", "note"),
    "allergies": (
        "substance",
        "type",
        "category",
        "criticality",
        "severity",
        "onset_date",
        "note",
    ),
    "medications": (
        "name",
        "dose",
        "route",
        "frequency",
        "start_date",
        "prescriber",
        "reason",
        "rxnorm",
        "note",
    ),
    "family-history": ("relationship", "condition", "code", "onset_age", "note"),
    "past-events": ("kind", "description", "start_date", "end_date", "facility", "note"),
}
ITEM_NOUNS = {
    "conditions": "Problem",
    "allergies": "Allergy",
    "medications": "Medication",
    "family-history": "Family history entry",
    "past-events": "Past hospitalization or procedure",
}
SEPARATORS = re.compile(r"[,;]")


def _item_data(kind: str, form: FormData) -> dict[str, Any]:
    data: dict[str, Any] = _filled(form, ITEM_FIELDS[kind])
    if kind == "allergies":
        data["reactions"] = [
            r.strip() for r in SEPARATORS.split(_text(form, "reactions")) if r.strip()
        ]
    if kind == "family-history":
        data["deceased"] = bool(_text(form, "deceased"))
    return data


def _history(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    section: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    suggestions: Sequence[terminology.Coding] = (),
    show_errors: bool = False,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/history")
    if isinstance(chart, Response):
        return chart
    entries = {
        kind: (
            chart.allergy_items
            if kind == "allergies" and not show_errors and chart.allergy_items is not None
            else service.items(db, actor, patient_id, kind, show_errors)
        )
        for kind in HISTORY_KINDS
    }
    social = service.read_social_history(db, actor, patient_id)
    return chart_page(
        request,
        "patients/history.html",
        chart,
        {
            "entries": entries,
            "social": social,
            "section": section,
            "form": form or {},
            "errors": errors or {},
            "suggestions": suggestions,
            "show_errors": show_errors,
            "statuses": ITEM_STATUS_OPTIONS,
        },
        tab="history",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/history")
def chart_history(
    request: Request, db: Db, actor: HistoryReader, patient_id: uuid.UUID, errors: int = 0
) -> Response:
    return _history(request, db, actor, patient_id, show_errors=bool(errors))


def _add_item_route(kind: str) -> None:
    schema: type[BaseModel] = service.KINDS[kind][1]
    noun = ITEM_NOUNS[kind]

    def add(
        request: Request, db: Db, actor: HistoryWriter, patient_id: uuid.UUID, form: Posted
    ) -> Response:
        typed = _typed(form)
        suggestions: list[terminology.Coding] = []
        try:
            data = schema.model_validate(_item_data(kind, form))
            live_chart(db, patient_id)
            with db.begin_nested():
                service.add_item(db, actor, patient_id, kind, data)
        except ValidationError as exc:
            errors = errors_of(exc, _flat)
        except (ValidationFailed, Conflict) as exc:
            errors = app_errors(exc, "code" if kind == "conditions" else "form")
            if kind == "conditions" and "code" in errors:
                suggestions = terminology.search_icd10(_text(form, "code")[:100], 5)
        else:
            return go_back(request, f"/patients/{patient_id}/history#{kind}", f"{noun} added.")
        return _history(
            request,
            db,
            actor,
            patient_id,
            section=kind,
            form=typed,
            errors=errors,
            suggestions=suggestions,
            status_code=422,
        )

    def change_status(
        request: Request,
        db: Db,
        actor: HistoryWriter,
        patient_id: uuid.UUID,
        item_id: uuid.UUID,
        form: Posted,
    ) -> Response:
        back = f"/patients/{patient_id}/history#{kind}"
        try:
            data = ItemStatusUpdate.model_validate(
                {"status": _text(form, "status"), "version": _text(form, "version")}
            )
            live_chart(db, patient_id)
            with db.begin_nested():
                service.set_item_status(db, actor, patient_id, kind, item_id, data)
        except ValidationError:
            return go_back(request, back, "Choose a status from the list.", "error")
        except (ValidationFailed, Conflict) as exc:
            return go_back(request, back, f"{noun} not changed: {exc.detail}", "error")
        return go_back(request, back, f"{noun} is now {words(data.status).lower()}.")

    change_status.__name__ = f"status_{kind.replace('-', '_')}"
    add.__name__ = f"add_{kind.replace('-', '_')}"
    path = f"/patients/{{patient_id}}/{kind}"
    router.post(path, dependencies=[Csrf], name=f"page_add_{kind}")(add)
    router.post(f"{path}/{{item_id}}/status", dependencies=[Csrf], name=f"page_status_{kind}")(
        change_status
    )


for _kind in HISTORY_KINDS:
    _add_item_route(_kind)


@router.post("/patients/{patient_id}/no-known-allergies", dependencies=[Csrf])
def no_known_allergies(
    request: Request, db: Db, actor: HistoryWriter, patient_id: uuid.UUID
) -> Response:
    back = f"/patients/{patient_id}/history#allergies"
    try:
        live_chart(db, patient_id)
        with db.begin_nested():
            service.set_no_known_allergies(db, actor, patient_id)
    except (ValidationFailed, Conflict) as exc:
        return go_back(request, back, exc.detail, "error")
    return go_back(request, back, "Recorded: no known allergies.")


SOCIAL_TEXT = (
    "tobacco",
    "alcohol",
    "substance_use",
    "activity_minutes_per_week",
    "occupation",
    "living_situation",
    "note",
    "version",
)


@router.post("/patients/{patient_id}/social-history", dependencies=[Csrf])
def social_history(
    request: Request, db: Db, actor: HistoryWriter, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    data: dict[str, Any] = _filled(form, SOCIAL_TEXT)
    at_home = _text(form, "caregiver_at_home")
    if at_home:
        data["caregiver_at_home"] = at_home == "yes"
    try:
        parsed = SocialHistoryIn.model_validate(data)
        live_chart(db, patient_id)
        with db.begin_nested():
            service.save_social_history(db, actor, patient_id, parsed)
    except ValidationError as exc:
        errors = errors_of(exc, _flat)
    except (ValidationFailed, Conflict) as exc:
        errors = app_errors(exc)
    else:
        return go_back(request, f"/patients/{patient_id}/history#social", "Social history saved.")
    return _history(
        request,
        db,
        actor,
        patient_id,
        section="social",
        form=typed,
        errors=errors,
        status_code=422,
    )


# --- contacts and consent ------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelDecision:
    channel: str
    decision: str | None
    since: dt.date | None
    until: dt.date | None
    source: str | None


def _channel_decisions(rows: Sequence[Any], today: dt.date) -> list[ChannelDecision]:
    """The decision in force today on each channel (newest recorded first wins)."""
    decisions = []
    for channel in codes.Channel:
        current = next(
            (
                r
                for r in rows
                if r.channel == channel.value
                and r.effective_from <= today
                and (r.effective_until is None or r.effective_until >= today)
            ),
            None,
        )
        decisions.append(
            ChannelDecision(
                channel=channel.value,
                decision=current.decision if current else None,
                since=current.effective_from if current else None,
                until=current.effective_until if current else None,
                source=current.source if current else None,
            )
        )
    return decisions


def _contacts(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    *,
    section: str = "",
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/contacts")
    if isinstance(chart, Response):
        return chart
    today = clinic_today(request)
    people = service.related_persons(db, actor, patient_id)
    consents = service.sharing_consents(db, actor, patient_id)
    contact = service.contact_consents(db, patient_id)
    settings = settings_of(request)
    return chart_page(
        request,
        "patients/contacts.html",
        chart,
        {
            "people": people,
            "names": {p.id: p.name for p in people},
            "person_options": [("", "Choose…")]
            + [(str(p.id), p.name) for p in people if p.status == "active"],
            "consents": consents,
            "contact_consents": contact,
            "decisions": _channel_decisions(contact, today),
            "section": section,
            "form": form or {},
            "errors": errors or {},
            "max_upload": min(service.MAX_DOCUMENT_BYTES, settings.max_body_bytes - 64 * 1024),
        },
        tab="contacts",
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/contacts")
def chart_contacts(request: Request, db: Db, actor: Reader, patient_id: uuid.UUID) -> Response:
    return _contacts(request, db, actor, patient_id)


PERSON_FLAGS = ("emergency_contact", "caregiver", "personal_representative")


@router.post("/patients/{patient_id}/related-persons", dependencies=[Csrf])
def add_related_person(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    data: dict[str, Any] = _filled(
        form, ("name", "relationship", "phone", "email", "address", "note")
    )
    data.update({flag: bool(_text(form, flag)) for flag in PERSON_FLAGS})
    try:
        parsed = RelatedPersonCreate.model_validate(data)
        live_chart(db, patient_id)
        with db.begin_nested():
            person = service.add_related_person(db, actor, patient_id, parsed)
    except ValidationError as exc:
        errors = errors_of(exc, _flat)
    except (ValidationFailed, Conflict) as exc:
        errors = app_errors(exc)
    else:
        return go_back(request, f"/patients/{patient_id}/contacts#people", f"{person.name} added.")
    return _contacts(
        request,
        db,
        actor,
        patient_id,
        section="person",
        form=typed,
        errors=errors,
        status_code=422,
    )


@router.post("/patients/{patient_id}/related-persons/{person_id}/status", dependencies=[Csrf])
def related_person_status(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    person_id: uuid.UUID,
    form: Posted,
) -> Response:
    back = f"/patients/{patient_id}/contacts#people"
    try:
        data = RelatedPersonUpdate.model_validate(
            {"status": _text(form, "status"), "version": _text(form, "version")}
        )
        live_chart(db, patient_id)
        with db.begin_nested():
            person = service.update_related_person(db, actor, patient_id, person_id, data)
    except ValidationError:
        return go_back(request, back, "Choose a status from the list.", "error")
    except (ValidationFailed, Conflict) as exc:
        return go_back(request, back, f"Not changed: {exc.detail}", "error")
    return go_back(request, back, f"{person.name} is now {words(person.status).lower()}.")


def _upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and (value.filename or value.size):
        return value
    return None


@router.post("/patients/{patient_id}/sharing-consents", dependencies=[Csrf])
def add_sharing_consent(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    data: dict[str, Any] = _filled(form, ("related_person_id", "signed_on", "expires_on", "note"))
    data["categories"] = _texts(form, "categories")
    upload = _upload(form, "document")
    try:
        parsed = SharingConsentCreate.model_validate(data)
        live_chart(db, patient_id)
        with db.begin_nested():
            if upload is not None:
                content = upload.file.read(service.MAX_DOCUMENT_BYTES + 1)
                document = service.add_document(
                    db,
                    actor,
                    patient_id,
                    title=f"Signed sharing consent {upload.filename or ''}".strip(),
                    content_type=upload.content_type or "",
                    content=content,
                )
                parsed = parsed.model_copy(update={"document_id": document.id})
            service.add_sharing_consent(db, actor, patient_id, parsed)
    except ValidationError as exc:
        errors = errors_of(exc, lambda loc: _flat(loc) if loc else "expires_on")
    except (ValidationFailed, Conflict) as exc:
        errors = app_errors(exc)
    else:
        return go_back(
            request, f"/patients/{patient_id}/contacts#sharing", "Sharing consent recorded."
        )
    return _contacts(
        request,
        db,
        actor,
        patient_id,
        section="sharing",
        form=typed,
        errors=errors,
        status_code=422,
    )


@router.post("/patients/{patient_id}/sharing-consents/{consent_id}/revoke", dependencies=[Csrf])
def revoke_sharing_consent(
    request: Request,
    db: Db,
    actor: Writer,
    patient_id: uuid.UUID,
    consent_id: uuid.UUID,
    form: Posted,
) -> Response:
    back = f"/patients/{patient_id}/contacts#sharing"
    version = _text(form, "version")
    if not version.isdigit():
        return go_back(request, back, "Reload the page and try again.", "error")
    try:
        live_chart(db, patient_id)
        with db.begin_nested():
            service.revoke_sharing_consent(db, actor, patient_id, consent_id, int(version))
    except (ValidationFailed, Conflict) as exc:
        return go_back(request, back, f"Consent not revoked: {exc.detail}", "error")
    return go_back(request, back, "Sharing consent revoked; nothing more is shared under it.")


@router.get("/patients/{patient_id}/documents/{document_id}")
def download_document(
    db: Db, actor: Reader, patient_id: uuid.UUID, document_id: uuid.UUID
) -> Response:
    meta, content = service.get_document(db, actor, patient_id, document_id)
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(
        meta.content_type, "bin"
    )
    return Response(
        content,
        media_type=meta.content_type,
        headers={"content-disposition": f'attachment; filename="{meta.id}.{extension}"'},
    )


@router.post("/patients/{patient_id}/contact-consents", dependencies=[Csrf])
def add_contact_consent(
    request: Request, db: Db, actor: Writer, patient_id: uuid.UUID, form: Posted
) -> Response:
    typed = _typed(form)
    data = _filled(form, ("channel", "decision", "effective_from", "effective_until", "source"))
    try:
        parsed = ContactConsentCreate.model_validate(data)
        live_chart(db, patient_id)
        with db.begin_nested():
            service.record_contact_consent(db, actor, patient_id, parsed)
    except ValidationError as exc:
        errors = errors_of(exc, _flat)
    except (ValidationFailed, Conflict) as exc:
        errors = app_errors(exc)
    else:
        said = "permits" if parsed.decision == "permit" else "refuses"
        return go_back(
            request,
            f"/patients/{patient_id}/contacts#contact",
            f"Recorded: the patient {said} contact by {words(parsed.channel.value).lower()}.",
        )
    return _contacts(
        request,
        db,
        actor,
        patient_id,
        section="contact",
        form=typed,
        errors=errors,
        status_code=422,
    )


# --- timeline ------------------------------------------------------------------------------

ENTITY_WORDS = {
    "Patient": "Demographics",
    "Telecom": "Phone number",
    "Identifier": "Identifier",
    "RelatedPerson": "Related person",
    "SharingConsent": "Sharing consent",
    "ContactConsent": "Contact consent",
    "Condition": "Problem",
    "Allergy": "Allergy",
    "Medication": "Medication",
    "FamilyHistory": "Family history",
    "SocialHistory": "Social history",
    "PastEvent": "Past event",
}
HIDDEN_CHANGES = frozenset({"family_folded", "given_folded", "created_at", "created_by", "id"})


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _shown(value: Any, zone: str) -> str:
    """A stored value as a person reads it (dates and times in the clinic's zone)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    if ISO_DATE.match(text):
        return format_day(text)
    if ISO_MOMENT.match(text):
        try:
            return format_when(dt.datetime.fromisoformat(text), zone)
        except ValueError:
            return text
    return text if len(text) <= 80 else text[:79] + "…"


@router.get("/patients/{patient_id}/timeline")
def chart_timeline(
    request: Request, db: Db, actor: HistoryReader, patient_id: uuid.UUID
) -> Response:
    chart = open_chart(request, db, actor, patient_id, "/timeline")
    if isinstance(chart, Response):
        return chart
    versions = service.timeline(db, actor, patient_id)
    zone = settings_of(request).timezone
    usernames = {v.changed_by for v in versions if v.changed_by}
    named = select(User.username, User.display_name).where(User.username.in_(usernames))
    people = {row.username: row.display_name for row in db.execute(named)} if usernames else {}
    rows = [
        {
            "when": v.changed_at,
            "who": people.get(v.changed_by, v.changed_by) if v.changed_by else "System",
            "what": ENTITY_WORDS.get(v.entity_type, v.entity_type),
            "action": "added" if v.action == "create" else "changed",
            "changes": [
                (name.replace("_", " ").capitalize(), _shown(value, zone))
                for name, value in sorted(v.changes.items())
                if name not in HIDDEN_CHANGES
            ],
        }
        for v in versions
    ]
    return chart_page(
        request,
        "patients/timeline.html",
        chart,
        {"rows": rows},
        tab="timeline",
    )
