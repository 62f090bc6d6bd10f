"""The HL7 inbox against a real database: stored before anything else, applied once (a
repeated control id is acknowledged, not applied again), bad messages kept as rejected with
the reason and nothing half-applied, patients matched by identifier or demographics or
registered for review, hospital stays following the ADT events, replay and dismiss."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import unit_of_work
from carebridge.lib.errors import Conflict, ValidationFailed
from carebridge.patients.models import Identifier, Patient
from carebridge.security.audit import Actor
from carebridge.security.models import AuditEvent
from carebridge.settings import Settings
from carebridge.tasks.models import Task
from carebridge.transitions import inbox
from carebridge.transitions.models import AppliedControlId, Encounter, Hl7Message
from tests.integration.test_cli import SECRET_ENV, run

NOW = dt.datetime(2024, 3, 1, 18, 0, tzinfo=dt.UTC)
COORDINATOR = Actor(user_id=None, username="coordinator-test", role="coordinator")


def unique() -> str:
    return uuid.uuid4().hex[:10].upper()


def message(
    event: str,
    *,
    control: str | None = None,
    patient_id: str = "P1",
    authority: str = "GHH",
    family: str = "Example",
    given: str = "Pat",
    birth: str = "19610615",
    visit_number: str | None = None,
    location: str = "4E^412^B",
    prior_location: str = "",
    admit: str = "20240301100000-0600",
    discharge: str = "",
    disposition: str = "",
    patient_class: str = "I",
    extra: tuple[str, ...] = (),
    facility: str = "GOOD HEALTH",
) -> str:
    pv1 = ["PV1", "1", patient_class, location] + [""] * 42
    pv1[6], pv1[19], pv1[36] = prior_location, visit_number or unique(), disposition
    pv1[44], pv1[45] = admit, discharge
    return "\r".join(
        [
            f"MSH|^~\\&|ADT1|{facility}|CB|CB|20240301101500-0600||ADT^{event}|"
            f"{control or unique()}|P|2.5.1",
            f"EVN|{event}|20240301101000-0600",
            f"PID|1||{patient_id}^^^{authority}^MR||{family}^{given}||{birth}|F|||"
            "12 Elm St^^Springfield^IL^62701||(217) 555-0100",
            "|".join(pv1),
            *extra,
        ]
    )


def receive(factory: sessionmaker[Session], settings: Settings, raw: str) -> inbox.Outcome:
    with unit_of_work(factory) as db:
        return inbox.receive(db, raw, source="file", peer="test", settings=settings, now=NOW)


def stored(factory: sessionmaker[Session], message_id: uuid.UUID) -> Hl7Message:
    with unit_of_work(factory, write=False) as db:
        found = db.get(Hl7Message, message_id)
        assert found is not None
        db.expunge(found)
        return found


def encounter_of(factory: sessionmaker[Session], message_id: uuid.UUID) -> Encounter:
    with unit_of_work(factory, write=False) as db:
        found = db.get(Hl7Message, message_id)
        assert found is not None
        assert found.encounter_id is not None
        stay = db.get(Encounter, found.encounter_id)
        assert stay is not None
        db.expunge(stay)
        return stay


def test_an_admit_registers_the_patient_for_review_and_opens_the_stay(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, visit_number = unique(), unique()
    dg1 = "DG1|1|I10|I50.9^Heart failure, unspecified^I10||20240301|A"
    outcome = receive(
        factory,
        settings,
        message("A01", patient_id=pid, visit_number=visit_number, family=pid, extra=(dg1,)),
    )
    assert (outcome.code, outcome.status, outcome.error) == ("AA", "applied", None)
    assert "MSA|AA|" in outcome.ack
    saved = stored(factory, outcome.message_id)
    assert saved.event == "A01"
    assert saved.message_type == "ADT^A01"
    assert saved.patient_id is not None
    with unit_of_work(factory, write=False) as db:
        patient = db.get(Patient, saved.patient_id)
        assert patient is not None
        assert (patient.family_name, patient.given_names) == (pid, "Pat")
        assert patient.birth_date == dt.date(1961, 6, 15)
        assert patient.postal_code == "62701"
        assert [(i.system, i.value) for i in patient.identifiers] == [("GHH", pid)]
        review = db.scalar(select(Task).where(Task.dedupe_key == f"hl7-new-chart:{patient.id}"))
        assert review is not None
        assert patient.mrn in review.title
        audited = db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.patient_id == patient.id, AuditEvent.username == "hl7")
        )
        assert audited
        assert audited >= 2
    stay = encounter_of(factory, outcome.message_id)
    assert (stay.class_code, stay.status, stay.location) == ("IMP", "in-progress", "4E 412 B")
    assert stay.admit_at is not None
    assert stay.admit_at.replace(tzinfo=dt.UTC) == dt.datetime(2024, 3, 1, 16, 0, tzinfo=dt.UTC)
    assert stay.diagnoses == [
        {"code": "I50.9", "text": "Heart failure, unspecified", "system": "ICD-10", "type": "A"}
    ]


def test_a_repeated_control_id_is_acknowledged_but_applied_once(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    control, pid = unique(), unique()
    raw = message("A01", control=control, patient_id=pid, visit_number=unique())
    first = receive(factory, settings, raw)
    second = receive(factory, settings, raw)
    assert (first.status, second.status) == ("applied", "duplicate")
    assert second.code == "AA"
    assert f"MSA|AA|{control}" in second.ack
    with unit_of_work(factory, write=False) as db:
        charts = db.scalar(
            select(func.count()).select_from(Identifier).where(Identifier.value == pid)
        )
        assert charts == 1
        assert (
            db.scalar(
                select(func.count()).select_from(Hl7Message).where(Hl7Message.control_id == control)
            )
            == 2
        )
        assert db.get(AppliedControlId, ("ADT1|GOOD HEALTH", control)) is not None


def test_a_rejected_message_is_kept_with_its_reason_and_nothing_applied(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, control = unique(), unique()
    outcome = receive(
        factory, settings, message("A01", control=control, patient_id=pid, birth="1961-06-15")
    )
    assert (outcome.code, outcome.status) == ("AE", "rejected")
    assert "PID-7" in (outcome.error or "")
    assert f"MSA|AE|{control}" in outcome.ack
    assert "\rERR|" in outcome.ack
    saved = stored(factory, outcome.message_id)
    assert saved.error_location == "PID-7"
    assert saved.raw.startswith("MSH|")
    with unit_of_work(factory, write=False) as db:
        assert db.scalar(select(Identifier.id).where(Identifier.value == pid)) is None
        assert db.get(AppliedControlId, ("ADT1|GOOD HEALTH", control)) is None
    garbage = receive(factory, settings, "this is not HL7")
    assert (garbage.code, garbage.status) == ("AR", "rejected")
    assert stored(factory, garbage.message_id).raw == "this is not HL7"
    wrong_version = receive(factory, settings, message("A01").replace("|2.5.1", "|3.0"))
    assert wrong_version.code == "AR"
    assert "MSH-12" in (stored(factory, wrong_version.message_id).error_location or "")


def test_identifiers_match_before_demographics_and_updates_never_blank(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, family = unique(), unique()
    first = receive(factory, settings, message("A04", patient_id=pid, family=family))
    # the same identifier, another name: the same chart, the name updated by the A08
    update = message("A08", patient_id=pid, family=family + "X").replace(
        "12 Elm St^^Springfield^IL^62701", ""
    )
    second = receive(factory, settings, update)
    assert (
        stored(factory, second.message_id).patient_id
        == stored(factory, first.message_id).patient_id
    )
    with unit_of_work(factory, write=False) as db:
        patient = db.get(Patient, stored(factory, first.message_id).patient_id)
        assert patient is not None
        assert patient.family_name == family + "X"
        assert patient.city == "Springfield"  # not blanked by the empty PID-11
    # another sender's identifier, same person by demographics with phone and address
    other = receive(
        factory,
        settings,
        message("A04", patient_id=unique(), authority="OTHER", family=family + "X"),
    )
    assert stored(factory, other.message_id).patient_id == patient.id


def test_a_stay_follows_transfer_discharge_and_its_cancellations(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, visit_number = unique(), unique()
    common = {"patient_id": pid, "visit_number": visit_number, "family": pid}
    admitted = receive(factory, settings, message("A01", **common))
    moved = receive(factory, settings, message("A02", location="ICU^1^A", **common))
    stay = encounter_of(factory, moved.message_id)
    assert (stay.location, stay.prior_location) == ("ICU 1 A", "4E 412 B")
    back = receive(factory, settings, message("A12", location="", **common))
    assert encounter_of(factory, back.message_id).location == "4E 412 B"
    out = receive(
        factory,
        settings,
        message("A03", discharge="20240305143000-0600", disposition="01", **common),
    )
    stay = encounter_of(factory, out.message_id)
    assert stay.id == encounter_of(factory, admitted.message_id).id
    assert (stay.status, stay.discharge_disposition) == ("finished", "01")
    assert stay.discharge_at is not None
    assert stay.discharge_at.replace(tzinfo=dt.UTC) == dt.datetime(
        2024, 3, 5, 20, 30, tzinfo=dt.UTC
    )
    undone = receive(factory, settings, message("A13", **common))
    stay = encounter_of(factory, undone.message_id)
    assert (stay.status, stay.discharge_at, stay.last_event) == ("in-progress", None, "A13")
    cancelled = receive(factory, settings, message("A11", **common))
    assert encounter_of(factory, cancelled.message_id).status == "entered-in-error"


def test_a_discharge_before_its_admit_is_not_reopened(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, visit_number = unique(), unique()
    common = {"patient_id": pid, "visit_number": visit_number, "family": pid}
    out = receive(factory, settings, message("A03", discharge="20240305143000-0600", **common))
    stay = encounter_of(factory, out.message_id)
    assert stay.status == "finished"
    assert stay.admit_at is not None
    late_admit = receive(factory, settings, message("A01", **common))
    assert late_admit.status == "applied"
    assert encounter_of(factory, late_admit.message_id).status == "finished"


def test_events_with_nothing_to_do_and_unsupported_events(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    quiet = receive(factory, settings, message("A60"))
    assert (quiet.code, quiet.status) == ("AA", "applied")
    assert "nothing changed" in (stored(factory, quiet.message_id).resolution or "")
    unknown = receive(factory, settings, message("A99"))
    assert (unknown.code, unknown.status) == ("AR", "rejected")
    assert "201^Unsupported event code" in unknown.ack


def test_a40_merges_the_prior_chart_into_the_survivor(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    keep, gone = unique(), unique()
    a = receive(factory, settings, message("A28", patient_id=keep, family=keep, given="Ann"))
    b = receive(factory, settings, message("A28", patient_id=gone, family=gone, given="Bo"))
    survivor_id = stored(factory, a.message_id).patient_id
    merged_id = stored(factory, b.message_id).patient_id
    assert survivor_id != merged_id
    merge = message("A40", patient_id=keep, family=keep, given="Ann") + (f"\rMRG|{gone}^^^GHH^MR")
    outcome = receive(factory, settings, merge)
    assert outcome.status == "applied"
    assert "merged" in (stored(factory, outcome.message_id).resolution or "")
    with unit_of_work(factory, write=False) as db:
        merged = db.get(Patient, merged_id)
        assert merged is not None
        assert merged.status == "merged"
        assert merged.merged_into_id == survivor_id
        # the prior chart's messages and identifiers now lead to the survivor
        assert stored(factory, b.message_id).patient_id == survivor_id


def test_replay_corrected_and_dismiss(factory: sessionmaker[Session], settings: Settings) -> None:
    pid = unique()
    bad = receive(factory, settings, message("A01", patient_id=pid, birth="", family=pid))
    assert bad.status == "rejected"
    with unit_of_work(factory) as db, pytest.raises(ValidationFailed):
        inbox.dismiss(db, COORDINATOR, bad.message_id, " ")
    fixed = message("A01", patient_id=pid, family=pid)
    with unit_of_work(factory) as db:
        replayed = inbox.replay(db, COORDINATOR, bad.message_id, fixed, settings)
    assert (replayed.code, replayed.status) == ("AA", "applied"), replayed.error
    original = stored(factory, bad.message_id)
    assert original.status == "resolved"
    assert str(replayed.message_id) in (original.resolution or "")
    again = stored(factory, replayed.message_id)
    assert (again.source, again.replay_of_id) == ("replay", bad.message_id)
    with unit_of_work(factory) as db, pytest.raises(Conflict):
        inbox.replay(db, COORDINATOR, bad.message_id, None, settings)
    other = receive(factory, settings, "garbage")
    with unit_of_work(factory) as db:
        inbox.dismiss(db, COORDINATOR, other.message_id, "test traffic from the vendor")
    dismissed = stored(factory, other.message_id)
    assert dismissed.status == "resolved"
    assert dismissed.resolution == "dismissed: test traffic from the vendor"


def test_the_import_command_reads_batches_and_fails_on_a_rejected_message(
    db_url: str, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    pid, control = unique(), unique()
    batch = "\n".join(
        [
            "FHS|^~\\&|ADT1|GOOD HEALTH",
            "BHS|^~\\&|ADT1|GOOD HEALTH",
            message("A01", control=control, patient_id=pid, family=pid),
            message("A01", control=control, patient_id=pid, family=pid),
            message("A01", patient_id=unique(), birth=""),
            "BTS|3",
            "FTS|1",
        ]
    )
    path = tmp_path / "batch.hl7"
    path.write_text(batch, encoding="utf-8")
    result = run(
        ["hl7", "import", str(path)], env={**SECRET_ENV, "CAREBRIDGE_DATABASE_URL": db_url}
    )
    assert result.returncode == 1, result.stderr
    assert "1 applied, 1 duplicate, 1 rejected." in result.stdout
    assert f"{path} message 3: AE" in result.stderr
    assert "PID-7" in result.stderr
    with unit_of_work(factory, write=False) as db:
        sources = db.scalars(select(Hl7Message.peer).where(Hl7Message.control_id == control)).all()
        assert sorted(sources) == [f"{path}#1", f"{path}#2"]
