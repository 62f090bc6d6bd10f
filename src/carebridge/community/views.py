"""Community resources screens: the directory search (/resources), the HSDS import page
(/resources/import), and the chart tab (/patients/{id}/resources) with the services
suggested for the patient's open social needs, "Refer", and the patient's community
referrals with "Organization confirmed" to close a loop by phone.

Pages only: every use case is a call into ``community.search``, ``community.importer`` or
``community.service``; each write runs in a savepoint, so a refused one leaves nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from carebridge.community import codes, hsds, importer, search, service
from carebridge.community.models import ResourceService
from carebridge.community.schemas import CommunityReferralCreate, Confirmation, NeedsUpdate
from carebridge.lib.errors import AppError, ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients import views as chart_views
from carebridge.referrals import codes as rcodes
from carebridge.security.audit import Actor
from carebridge.security.deps import Csrf, Db, Require, settings_of
from carebridge.security.roles import Permission, allows
from carebridge.web.render import go_back, render

router = APIRouter(include_in_schema=False)  # pages, not API

Reader = Annotated[Actor, Depends(Require(Permission.RESOURCES_READ))]
Manager = Annotated[Actor, Depends(Require(Permission.RESOURCES_MANAGE))]
ReferralWriter = Annotated[Actor, Depends(Require(Permission.REFERRAL_WRITE))]
Posted = chart_views.Posted

TAB = "resources"
MAX_IMPORT_BYTES = 20 * 1024 * 1024
NEED_OPTIONS = [("", "Any need"), *codes.NEEDS.items()]
LANGUAGE_OPTIONS = [("", "Any language"), *codes.LANGUAGES.items()]
HOURS_OPTIONS = [("", "Any time"), ("now", "Open now"), ("at", "Open on the day and time")]
DAY_OPTIONS = [("", "Any day"), *((str(k), v) for k, v in codes.WEEKDAYS.items())]


def _zone(request: Request) -> str:
    return settings_of(request).timezone


def _float(text: str) -> float | None:
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return None


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


def _when(
    request: Request, hours: str, day: str, at: str, errors: dict[str, str]
) -> search.When | None:
    if hours == "now":
        return search.When.at(utcnow().astimezone(ZoneInfo(_zone(request))))
    if hours != "at":
        return None
    moment = hsds.parse_time(at) if at else None
    if not day.isdigit() or not 1 <= int(day) <= 7:
        errors["day"] = "Choose the day."
    if moment is None:
        errors["time"] = "Enter the time, such as 10:30."
    if errors:
        return None
    assert moment is not None
    return search.When(int(day), moment)


def _near(
    db: Session, near: str, lat: str, lon: str, errors: dict[str, str]
) -> search.Point | None:
    location_id = _uuid(near)
    if location_id is not None:
        try:
            return search.point_of(db, location_id)
        except AppError:
            errors["near"] = "Choose a place from the list."
            return None
    if not lat and not lon:
        return None
    latitude, longitude = _float(lat), _float(lon)
    if latitude is None or not -90 <= latitude <= 90:
        errors["lat"] = "Enter a latitude between -90 and 90, such as 30.2672."
    if longitude is None or not -180 <= longitude <= 180:
        errors["lon"] = "Enter a longitude between -180 and 180, such as -97.7431."
    if latitude is None or longitude is None or errors:
        return None
    return search.Point(latitude, longitude)


# --- the directory search ------------------------------------------------------------------


@router.get("/resources")
def resources_page(
    request: Request,
    db: Db,
    actor: Reader,
    need: str = "",
    q: str = "",
    language: str = "",
    hours: str = "",
    day: str = "",
    time: str = "",
    near: str = "",
    lat: str = "",
    lon: str = "",
    within: str = "",
) -> Response:
    form = {
        "need": need if need in codes.NEEDS else "",
        "q": q.strip()[:100],
        "language": language if language in codes.LANGUAGES else "",
        "hours": hours if hours in ("now", "at") else "",
        "day": day,
        "time": time,
        "near": near,
        "lat": lat.strip(),
        "lon": lon.strip(),
        "within": within.strip(),
    }
    errors: dict[str, str] = {}
    when = _when(request, form["hours"], day, time, errors)
    point = _near(db, near, form["lat"], form["lon"], errors)
    within_km = _float(form["within"])
    if form["within"] and (within_km is None or within_km <= 0):
        errors["within"] = "Enter a distance in kilometres, such as 5."
    searched = any(form.values())
    hits = (
        search.search(
            db,
            need=form["need"] or None,
            q=form["q"],
            language=form["language"] or None,
            open_at=when,
            near=point,
            within_km=within_km if point is not None else None,
        )
        if not errors
        else []
    )
    return render(
        request,
        "community/search.html",
        {
            "form": form,
            "errors": errors,
            "hits": hits,
            "searched": searched,
            "point": point,
            "when": when,
            "ccodes": codes,
            "need_options": NEED_OPTIONS,
            "language_options": LANGUAGE_OPTIONS,
            "day_options": DAY_OPTIONS,
            "hours_options": HOURS_OPTIONS,
            "places": [("", "Choose a place…")] + [(str(i), n) for i, n in search.locations(db)],
            "counts": importer.counts(db),
            "can_manage": allows(actor.role, Permission.RESOURCES_MANAGE),
        },
        status_code=422 if errors else 200,
        active="resources",
    )


# --- the import page -----------------------------------------------------------------------


def _import_page(
    request: Request,
    db: Session,
    result: importer.ImportSummary | None,
    problems: list[dict[str, Any]],
    message: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "community/import.html",
        {
            "result": result,
            "problems": problems,
            "message": message,
            "counts": importer.counts(db),
            "files": hsds.KNOWN_FILES,
        },
        status_code=status_code,
        active="resources",
    )


@router.get("/resources/import")
def import_page(request: Request, db: Db, actor: Manager) -> Response:
    return _import_page(request, db, None, [])


@router.post("/resources/import", dependencies=[Csrf])
async def import_upload(request: Request, db: Db, actor: Manager, form: Posted) -> Response:
    found: dict[str, bytes] = {}
    total = 0
    for upload in form.getlist("files"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        body = await upload.read(MAX_IMPORT_BYTES + 1)
        total += len(body)
        if total > MAX_IMPORT_BYTES:
            return _import_page(
                request, db, None, [], "The files are larger than 20 MB together.", 422
            )
        found[upload.filename] = body
    if not found:
        return _import_page(
            request,
            db,
            None,
            [],
            "Choose the HSDS files to import: CSV files, a zip of them, or one JSON file.",
            422,
        )
    try:
        with db.begin_nested():
            summary = importer.import_files(db, actor, found)
    except ValidationFailed as exc:
        problems = list(exc.extra.get("problems", []))
        message = exc.detail.split(". ", 1)[0] + "."
        return _import_page(request, db, None, problems, message, 422)
    return _import_page(request, db, summary, [], "Imported. " + summary.words())


# --- one service ---------------------------------------------------------------------------


def _service_page(
    request: Request,
    db: Session,
    actor: Actor,
    service_id: uuid.UUID,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    hit = search.one(db, service_id)
    row = db.get(ResourceService, service_id)
    assert row is not None  # search.one found it
    return render(
        request,
        "community/service.html",
        {
            "s": hit,
            "row": row,
            "errors": errors,
            "ccodes": codes,
            "can_manage": allows(actor.role, Permission.RESOURCES_MANAGE),
        },
        status_code=status_code,
        active="resources",
    )


@router.get("/resources/{service_id}")
def service_page(request: Request, db: Db, actor: Reader, service_id: uuid.UUID) -> Response:
    return _service_page(request, db, actor, service_id, {})


@router.post("/resources/{service_id}/needs", dependencies=[Csrf])
def set_needs(
    request: Request, db: Db, actor: Manager, service_id: uuid.UUID, form: Posted
) -> Response:
    try:
        data = NeedsUpdate.model_validate(
            {
                "version": _text(form, "version"),
                "needs": [v for v in form.getlist("needs") if isinstance(v, str)],
            }
        )
        with db.begin_nested():
            row = service.set_needs(db, actor, service_id, data)
    except ValidationError as exc:
        errors = {"needs": "; ".join(str(e["msg"]) for e in exc.errors())}
        return _service_page(request, db, actor, service_id, errors, 422)
    except AppError as exc:
        return _service_page(request, db, actor, service_id, {"needs": exc.detail}, exc.status)
    return go_back(request, f"/resources/{row.id}", f"Needs of “{row.name}” saved.")


# --- the chart tab -------------------------------------------------------------------------


def _tab(
    request: Request,
    db: Session,
    actor: Actor,
    patient_id: uuid.UUID,
    query: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    chart = chart_views.open_chart(request, db, actor, patient_id, "/resources")
    if isinstance(chart, Response):
        return chart
    zone = _zone(request)
    point = _near(db, query.get("near", ""), "", "", errors)
    patient_language = chart.patient.language
    language = patient_language if query.get("in_language") else None
    suggested = service.suggestions(db, actor, patient_id, near=point, language=language)
    chosen = query.get("need", "")
    extra: list[search.Hit] = []
    if chosen in codes.NEEDS and chosen not in {s.need for s in suggested}:
        extra = search.search(db, need=chosen, near=point, language=language, limit=10)
    can_refer = allows(actor.role, Permission.REFERRAL_WRITE)
    referrals = (
        service.for_patient(db, actor, patient_id, zone)
        if allows(actor.role, Permission.REFERRAL_READ)
        else []
    )
    return chart_views.chart_page(
        request,
        "community/patient.html",
        chart,
        {
            "suggested": suggested,
            "chosen": chosen if chosen in codes.NEEDS else "",
            "extra": extra,
            "query": query,
            "errors": errors,
            "community": referrals,
            "ccodes": codes,
            "rcodes": rcodes,
            "can_refer": can_refer and chart.patient.status not in ("deceased", "merged"),
            "patient_language": codes.LANGUAGES.get(patient_language, patient_language),
            "need_options": [("", "Choose a need…"), *codes.NEEDS.items()],
            "places": [("", "Not sorted by distance")]
            + [(str(i), n) for i, n in search.locations(db)],
        },
        tab=TAB,
        status_code=status_code,
    )


@router.get("/patients/{patient_id}/resources")
def patient_resources(
    request: Request,
    db: Db,
    actor: Reader,
    patient_id: uuid.UUID,
    near: str = "",
    need: str = "",
    in_language: str = "",
) -> Response:
    query = {"near": near, "need": need, "in_language": in_language}
    return _tab(request, db, actor, patient_id, query, {})


@router.post("/patients/{patient_id}/resources/refer", dependencies=[Csrf])
def refer(
    request: Request, db: Db, actor: ReferralWriter, patient_id: uuid.UUID, form: Posted
) -> Response:
    values = {k: _text(form, k) for k in ("service_id", "location_id", "need", "note")}
    try:
        data = CommunityReferralCreate.model_validate(
            {k: v for k, v in values.items() if v} | {"confirm_within_days": 7}
        )
        chart_views.live_chart(db, patient_id)
        with db.begin_nested():
            made = service.refer(db, actor, patient_id, data, _zone(request))
    except ValidationError as exc:
        errors = {"refer": "; ".join(str(e["msg"]) for e in exc.errors())}
        return _tab(request, db, actor, patient_id, {}, errors, 422)
    except AppError as exc:
        return _tab(request, db, actor, patient_id, {}, {"refer": exc.detail}, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/resources#community-referrals",
        f"Referral {made.referral.number} sent to {made.organization} ({made.service}). "
        f"Waiting for the organization to confirm by {made.confirm_by:%a %d %b %Y}."
        if made.confirm_by
        else f"Referral {made.referral.number} sent to {made.organization}.",
    )


@router.post(
    "/patients/{patient_id}/resources/referrals/{referral_id}/confirm", dependencies=[Csrf]
)
def confirm(
    request: Request,
    db: Db,
    actor: ReferralWriter,
    patient_id: uuid.UUID,
    referral_id: uuid.UUID,
    form: Posted,
) -> Response:
    try:
        data = Confirmation.model_validate(
            {
                "version": _text(form, "version"),
                "note": _text(form, "note") or None,
            }
        )
        found = service.read(db, actor, referral_id, _zone(request))
        if found.referral.patient_id != patient_id:
            raise ValidationFailed("That referral belongs to another patient.")
        with db.begin_nested():
            done = service.confirm(db, actor, referral_id, data, _zone(request), via="phone")
    except ValidationError as exc:
        errors = {"confirm": "; ".join(str(e["msg"]) for e in exc.errors())}
        return _tab(request, db, actor, patient_id, {}, errors, 422)
    except AppError as exc:
        return _tab(request, db, actor, patient_id, {}, {"confirm": exc.detail}, exc.status)
    return go_back(
        request,
        f"/patients/{patient_id}/resources#community-referrals",
        f"Referral {done.referral.number} closed: {done.organization} confirmed.",
    )


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
