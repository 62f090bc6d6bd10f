"""A45 (move a visit to the right chart) and A47 (replace a wrong identifier) against a real
database: what moves or changes, what is left alone, and what is refused before anything is
changed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.patients.models import Identifier, Patient
from carebridge.security.models import AuditEvent
from carebridge.settings import Settings
from carebridge.transitions import adt, adt_moves
from carebridge.transitions.hl7 import (
    DUPLICATE_KEY,
    REQUIRED_MISSING,
    UNKNOWN_KEY,
    Header,
    Hl7Error,
    Message,
    header,
)
from carebridge.transitions.models import Encounter, Hl7Message, Transition
from tests.integration.test_hl7_inbox import NOW, message, receive, stored, unique

Apply = Callable[[Session, Message, Header, Settings, dt.datetime], adt.Applied]


def a45(pid: str, family: str, prior: str, visit_number: str, *, mrg5: str | None = None) -> str:
    """PID names the right patient; MRG the chart and visit it was filed under by mistake."""
    pv1 = ["PV1", "1", "I", "4E^412^B"] + [""] * 16
    pv1[19] = visit_number
    return "\r".join(
        [
            f"MSH|^~\\&|ADT1|GOOD HEALTH|CB|CB|20240302090000-0600||ADT^A45^ADT_A45|{unique()}"
            "|P|2.5.1",
            "EVN|A45|20240302085500-0600",
            f"PID|1||{pid}^^^GHH^MR||{family}^Ann||19700101|F",
            f"MRG|{prior}^^^GHH^MR||||{visit_number if mrg5 is None else mrg5}",
            "|".join(pv1),
        ]
    )


def a47(right: str, wrong: str, family: str, *, right_authority: str = "GHH") -> str:
    """PID-3 the correct identifier, MRG-1 the incorrect one."""
    return "\r".join(
        [
            f"MSH|^~\\&|ADT1|GOOD HEALTH|CB|CB|20240302090000-0600||ADT^A47^ADT_A30|{unique()}"
            "|P|2.5.1",
            "EVN|A47|20240302085500-0600",
            f"PID|1||{right}^^^{right_authority}^MR||{family}^Bo||19800202|M",
            f"MRG|{wrong}",
        ]
    )


def run(factory: sessionmaker[Session], settings: Settings, fn: Apply, raw: str) -> adt.Applied:
    parsed = Message(raw)
    with unit_of_work(factory) as db:
        return fn(db, parsed, header(parsed, settings.timezone), settings, NOW)


def refused(factory: sessionmaker[Session], settings: Settings, fn: Apply, raw: str) -> Hl7Error:
    parsed = Message(raw)
    with pytest.raises(Hl7Error) as caught, unit_of_work(factory) as db:
        fn(db, parsed, header(parsed, settings.timezone), settings, NOW)
    return caught.value


def chart_of(
    factory: sessionmaker[Session], settings: Settings, pid: str, family: str
) -> uuid.UUID:
    """A chart the feed registered (A28), holding ``pid`` from GHH."""
    outcome = receive(factory, settings, message("A28", patient_id=pid, family=family))
    patient_id = stored(factory, outcome.message_id).patient_id
    assert patient_id is not None
    return patient_id


def identifiers(factory: sessionmaker[Session], patient_id: uuid.UUID) -> dict[str, str]:
    with unit_of_work(factory, write=False) as db:
        rows = db.scalars(select(Identifier).where(Identifier.patient_id == patient_id))
        return {row.value: row.status for row in rows}


# --- A45 --------------------------------------------------------------------------------------


def test_a45_moves_the_visit_its_transition_and_its_messages(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    right, wrong, visit_number = unique(), unique(), unique()
    survivor_id = chart_of(factory, settings, right, right)
    common = {"patient_id": wrong, "family": wrong, "visit_number": visit_number}
    admitted = receive(factory, settings, message("A01", **common))
    discharged = receive(
        factory, settings, message("A03", discharge="20240301160000-0600", **common)
    )
    prior_id = stored(factory, admitted.message_id).patient_id
    stay_id = stored(factory, discharged.message_id).encounter_id
    assert prior_id is not None
    assert stay_id is not None
    with unit_of_work(factory) as db:  # the follow-up of that discharge, on the wrong chart
        transition = Transition(
            patient_id=prior_id,
            encounter_id=stay_id,
            discharged_on=dt.date(2024, 3, 1),
            contact_due_on=dt.date(2024, 3, 5),
            follow_up_due_on=dt.date(2024, 3, 15),
            checklist={},
            risk={},
        )
        db.add(transition)
        db.flush()
        transition_id = transition.id

    applied = run(factory, settings, adt_moves.move_visit, a45(right, right, wrong, visit_number))

    assert (applied.patient_id, applied.encounter_id) == (survivor_id, stay_id)
    assert "moved visit" in (applied.note or "")
    with unit_of_work(factory, write=False) as db:
        stay = db.get(Encounter, stay_id)
        moved = db.get(Transition, transition_id)
        assert stay is not None
        assert moved is not None
        assert (stay.patient_id, stay.visit_number, stay.status) == (
            survivor_id,
            visit_number,
            "finished",
        )
        assert moved.patient_id == survivor_id
        about = db.scalars(select(Hl7Message.patient_id).where(Hl7Message.encounter_id == stay_id))
        assert set(about) == {survivor_id}
        audited = db.scalars(
            select(AuditEvent.patient_id).where(
                AuditEvent.entity_type == "Encounter",
                AuditEvent.entity_id == str(stay_id),
                AuditEvent.username == "hl7",
                AuditEvent.reason.contains("A45"),
            )
        )
        assert set(audited) == {prior_id, survivor_id}
        # the wrong chart itself stays: only the visit was misfiled
        prior = db.get(Patient, prior_id)
        assert prior is not None
        assert prior.status == "active"

    again = run(factory, settings, adt_moves.move_visit, a45(right, right, wrong, visit_number))
    assert "already on chart" in (again.note or "")


def test_a45_for_a_visit_not_on_file_moves_nothing_and_registers_nobody(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    right, wrong, visit_number = unique(), unique(), unique()
    applied = run(factory, settings, adt_moves.move_visit, a45(right, right, wrong, visit_number))
    assert applied.patient_id is None
    assert applied.note == f"no visit {visit_number} at GOOD HEALTH on file: nothing to move"
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(Identifier.id).where(Identifier.value == right)) is None


def test_a45_without_mrg_or_prior_visit_is_refused(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    right, wrong, visit_number = unique(), unique(), unique()
    raw = a45(right, right, wrong, visit_number)
    no_mrg = "\r".join(s for s in raw.split("\r") if not s.startswith("MRG"))
    error = refused(factory, settings, adt_moves.move_visit, no_mrg)
    assert (error.location, error.code, error.ack_code) == ("MRG", REQUIRED_MISSING, "AE")
    error = refused(
        factory, settings, adt_moves.move_visit, a45(right, right, wrong, visit_number, mrg5="")
    )
    assert (error.location, error.code) == ("MRG-5", REQUIRED_MISSING)
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(Identifier.id).where(Identifier.value == right)) is None


def test_a45_refuses_a_visit_on_a_chart_mrg_does_not_name(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    right, holder, named, visit_number = unique(), unique(), unique(), unique()
    chart_of(factory, settings, right, right)
    chart_of(factory, settings, named, named)
    admitted = receive(
        factory,
        settings,
        message("A01", patient_id=holder, family=holder, visit_number=visit_number),
    )
    error = refused(factory, settings, adt_moves.move_visit, a45(right, right, named, visit_number))
    assert (error.location, error.code) == ("MRG-1", UNKNOWN_KEY)
    stay = stored(factory, admitted.message_id)
    with unit_of_work(factory, write=False) as db:
        found = db.get(Encounter, stay.encounter_id)
        assert found is not None
        assert found.patient_id == stay.patient_id


# --- A47 --------------------------------------------------------------------------------------


def test_a47_replaces_the_identifier_and_keeps_the_wrong_one_inactive(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    wrong, right, family = unique(), unique(), unique()
    chart_id = chart_of(factory, settings, wrong, family)
    applied = run(
        factory, settings, adt_moves.change_identifiers, a47(right, f"{wrong}^^^GHH^MR", family)
    )
    assert applied.patient_id == chart_id
    assert applied.note == (
        f"{wrong} made inactive on chart {mrn(factory, chart_id)}; "
        f"{right} added to chart {mrn(factory, chart_id)}"
    )
    assert identifiers(factory, chart_id) == {wrong: "inactive", right: "active"}
    with unit_of_work(factory, write=False) as db:
        reasons = set(
            db.scalars(
                select(AuditEvent.reason).where(
                    AuditEvent.patient_id == chart_id, AuditEvent.username == "hl7"
                )
            )
        )
        assert any(r and r.startswith("identifier MR made inactive: HL7 A47") for r in reasons)
        assert "identifier MR added" in reasons
    repeat = run(
        factory, settings, adt_moves.change_identifiers, a47(right, f"{wrong}^^^GHH^MR", family)
    )
    assert repeat.note == (
        f"no chart holds {wrong}: no identifier to change "
        f"(chart {mrn(factory, chart_id)} holds {right})"
    )
    assert identifiers(factory, chart_id) == {wrong: "inactive", right: "active"}
    # the feed now finds the chart by the right identifier only
    later = receive(factory, settings, message("A08", patient_id=right, family=family))
    assert stored(factory, later.message_id).patient_id == chart_id


def mrn(factory: sessionmaker[Session], patient_id: uuid.UUID) -> str:
    with unit_of_work(factory, write=False) as db:
        chart = db.get(Patient, patient_id)
        assert chart is not None
        return chart.mrn


def test_a47_leaves_our_mrn_alone(factory: sessionmaker[Session], settings: Settings) -> None:
    held, right, family = unique(), unique(), unique()
    chart_id = chart_of(factory, settings, held, family)
    ours = mrn(factory, chart_id)
    applied = run(
        factory,
        settings,
        adt_moves.change_identifiers,
        a47(right, f"{ours}^^^{settings.hl7_facility}^MR", family),
    )
    assert applied.patient_id == chart_id
    assert applied.note == f"MRN {ours} is ours and was left alone; {right} added to chart {ours}"
    assert mrn(factory, chart_id) == ours
    assert identifiers(factory, chart_id) == {held: "active", right: "active"}


def test_a47_for_an_identifier_on_another_chart_is_refused_before_any_change(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    wrong, taken = unique(), unique()
    chart_id = chart_of(factory, settings, wrong, wrong)
    other_id = chart_of(factory, settings, taken, taken)
    parsed = Message(a47(taken, f"{wrong}^^^GHH^MR", wrong))
    with unit_of_work(factory) as db:
        with pytest.raises(Hl7Error) as caught:
            adt_moves.change_identifiers(
                db, parsed, header(parsed, settings.timezone), settings, NOW
            )
        # still in the transaction the inbox would roll back: nothing was changed first
        db.flush()
        held = db.scalar(select(Identifier).where(Identifier.value == wrong))
        assert held is not None
        assert held.status == "active"
        db.rollback()
    error = caught.value
    assert (error.location, error.code, error.ack_code) == ("PID-3", DUPLICATE_KEY, "AE")
    assert "A40" in error.message
    assert mrn(factory, other_id) in error.message
    assert identifiers(factory, chart_id) == {wrong: "active"}
    assert identifiers(factory, other_id) == {taken: "active"}


def test_a47_for_an_identifier_no_chart_holds_changes_nothing(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    wrong, right = unique(), unique()
    applied = run(
        factory, settings, adt_moves.change_identifiers, a47(right, f"{wrong}^^^GHH^MR", right)
    )
    assert applied.patient_id is None
    assert applied.note == f"no chart holds {wrong}: no identifier to change"
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(Identifier.id).where(Identifier.value == right)) is None


def test_a47_without_mrg_is_refused(factory: sessionmaker[Session], settings: Settings) -> None:
    raw = a47(unique(), "", unique()).replace("\rMRG|", "")
    error = refused(factory, settings, adt_moves.change_identifiers, raw)
    assert (error.location, error.code) == ("MRG", REQUIRED_MISSING)
