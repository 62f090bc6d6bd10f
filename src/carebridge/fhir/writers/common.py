"""What every writer shares: the ``Writer`` pair; a schema's or a service's refusal as a 422
naming the FHIR element at fault; the chart a resource is about; the clinic's day; and what
of an update the record, once changed, does not show."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session

from carebridge.fhir.errors import FhirError
from carebridge.fhir.indexing import reference_target
from carebridge.fhir.mappers.elements import (
    META_KEYS,
    prune,
)
from carebridge.fhir.registry import PROJECTIONS
from carebridge.lib.errors import ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.security.audit import Actor
from carebridge.settings import Settings

Warnings = list[str]


@dataclass(frozen=True)
class Writer:
    """``create`` returns the new record's id and what of the resource could not be kept;
    ``update`` applies a whole resource to the record with that id. Both are given the
    settings (a booking checks the clinic's rules; a task's default due time is a clinic
    day)."""

    create: Callable[[Session, Actor, Mapping[str, Any], Settings], tuple[uuid.UUID, Warnings]]
    update: Callable[[Session, Actor, uuid.UUID, Mapping[str, Any], Settings], Warnings]


def validated(model: type[Any], values: Mapping[str, Any], root: str) -> Any:
    """``model`` built from ``values``; the first error it finds is a 422."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or root
        raise FhirError(422, "invalid", f"{root} ({where}): {error['msg']}") from exc


@contextmanager
def at_elements(root: str, paths: Mapping[str, str]) -> Iterator[None]:
    """A service's refusal of a value (``ValidationFailed``, which names the service's
    fields) as a 422 naming the FHIR elements they came from (``paths``)."""
    try:
        yield
    except ValidationFailed as exc:
        where = sorted({paths.get(field, root) for field in exc.fields}) or [root]
        raise FhirError(
            422, "invalid", f"{', '.join(where)}: {exc.detail}", expression=where
        ) from exc


def patient_of(db: Session, resource: Mapping[str, Any], element: str) -> uuid.UUID:
    """The chart ``element`` (``Condition.subject``) refers to: a Patient of this server
    whose chart still takes changes (a merged chart does not, as on its screens)."""
    node = resource.get(element.split(".", 1)[1])
    reference = node.get("reference") if isinstance(node, Mapping) else None
    if not isinstance(reference, str) or not reference:
        raise FhirError(
            422,
            "required",
            f"{element}: a reference to the patient is required",
            expression=[element],
        )
    target = reference_target(reference)
    if target is None or target[0] != "Patient":
        raise FhirError(
            422,
            "invalid",
            f"{element}: '{reference}' is not a Patient reference of this server",
            expression=[element],
        )
    try:
        chart = db.get(Patient, uuid.UUID(target[1]))
    except ValueError:
        chart = None
    if chart is None:
        raise FhirError(
            422, "not-found", f"{element}: there is no {reference}", expression=[element]
        )
    if chart.status == "merged":
        raise FhirError(
            409,
            "conflict",
            f"{element}: chart {chart.mrn} was merged into another chart; write to the "
            "surviving chart. Nothing was saved.",
            expression=[element],
        )
    return chart.id


def same_patient(
    db: Session, resource: Mapping[str, Any], element: str, patient: uuid.UUID, instead: str
) -> None:
    """An update names the chart its record is on (``instead``: what to do to move it)."""
    if patient_of(db, resource, element) != patient:
        raise FhirError(
            422, "invariant", f"{element} cannot change: {instead}", expression=[element]
        )


def clinic_today(settings: Settings) -> dt.date:
    """Today where the clinic is (its configured time zone), as the screens count days."""
    return utcnow().astimezone(ZoneInfo(settings.timezone)).date()


def rendering(db: Session, kind: str, record_id: uuid.UUID) -> dict[str, Any]:
    """The resource a record is rendered as now (its changes flushed)."""
    db.flush()
    for resource, _index in PROJECTIONS[kind].render(db, [record_id]):
        return resource
    raise RuntimeError(f"{kind}/{record_id} has no rendering")


def _within(sent: Any, shown: Any) -> bool:
    """Whether everything ``sent`` says is shown (what the server adds, such as a code's
    display or a concept's text, is not a difference)."""
    if isinstance(sent, Mapping):
        return isinstance(shown, Mapping) and all(_within(v, shown.get(k)) for k, v in sent.items())
    if isinstance(sent, list):
        return (
            isinstance(shown, list)
            and len(sent) == len(shown)
            and all(_within(a, b) for a, b in zip(sent, shown, strict=True))
        )
    return bool(sent == shown)


def not_kept(
    sent: Mapping[str, Any],
    rendered: Mapping[str, Any],
    why: str,
    ignore: frozenset[str] = frozenset(),
) -> Warnings:
    """One warning for each element of an update that the changed record does not show as
    sent, or still shows though it was left out (``ignore``: elements the server sets, such
    as when it was recorded)."""
    root = str(rendered["resourceType"])
    sent, shown = prune(dict(sent)), prune(dict(rendered))
    keys = sorted((set(sent) | set(shown)) - META_KEYS - ignore)
    return [
        f"{root}.{key}: {why}"
        for key in keys
        if key not in sent or not _within(sent[key], shown.get(key))
    ]
