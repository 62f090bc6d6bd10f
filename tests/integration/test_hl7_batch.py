"""Many HL7 messages in one transaction (``inbox.batch``, the listener's group commit): each
message applies or fails alone, a failure after some writes leaves nothing of that message
and does not disturb the others, charts refiled by a merge take the batch's earlier messages
with them, and a control id sent on two connections at once is applied once."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import WRITE_OPTION, unit_of_work
from carebridge.patients.models import Identifier, Patient
from carebridge.security.models import AuditEvent
from carebridge.settings import Settings
from carebridge.transitions import inbox
from carebridge.transitions.models import Encounter, Hl7Message
from tests.integration.test_hl7_inbox import NOW, message, unique


def receive_all(
    factory: sessionmaker[Session], settings: Settings, raws: list[str]
) -> list[inbox.Outcome]:
    with unit_of_work(factory) as db, inbox.batch(db):
        return [
            inbox.receive(db, raw, source="mllp", peer="test", settings=settings, now=NOW)
            for raw in raws
        ]


def test_a_failure_after_writes_undoes_only_that_message(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    # The second message names a new person (registered, written) and then a visit that is
    # the first person's: it is rejected, the registration with it; the third applies.
    first, stranger, visit = unique(), unique(), unique()
    raws = [
        message("A01", patient_id=first, family=first, visit_number=visit),
        message("A01", patient_id=stranger, family=stranger, birth="19800101", visit_number=visit),
        message(
            "A03",
            patient_id=first,
            family=first,
            visit_number=visit,
            discharge="20240305120000-0600",
        ),
    ]
    outcomes = receive_all(factory, settings, raws)
    assert [o.code for o in outcomes] == ["AA", "AE", "AA"]
    assert "belongs to another chart" in (outcomes[1].error or "")
    with unit_of_work(factory, write=False) as db:
        rows = {m.id: m for m in db.scalars(select(Hl7Message).where(Hl7Message.raw.in_(raws)))}
        assert [rows[o.message_id].status for o in outcomes] == ["applied", "rejected", "applied"]
        assert rows[outcomes[1].message_id].patient_id is None
        assert db.scalar(select(Patient).where(Patient.family_name == stranger)) is None
        assert db.scalar(select(Identifier).where(Identifier.value == stranger)) is None
        stay = db.scalar(select(Encounter).where(Encounter.visit_number == visit))
        assert stay is not None
        assert (stay.status, stay.last_event) == ("finished", "A03")
        audited = db.scalars(
            select(AuditEvent.entity_id).where(
                AuditEvent.entity_type == "Hl7Message",
                AuditEvent.entity_id.in_([str(o.message_id) for o in outcomes]),
            )
        ).all()
        assert len(audited) == 3
        # Nothing the failed message recorded about the stranger's chart survives it.
        assert (
            db.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.reason.contains(stranger))
            )
            == 0
        )


def test_a_repeat_inside_the_batch_is_a_duplicate(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    pid, control = unique(), unique()
    raw = message("A04", control=control, patient_id=pid, family=pid)
    first, again = receive_all(factory, settings, [raw, raw])
    assert (first.status, again.status, again.code) == ("applied", "duplicate", "AA")
    with unit_of_work(factory, write=False) as db:
        copy = db.get(Hl7Message, again.message_id)
        original = db.get(Hl7Message, first.message_id)
        assert copy is not None
        assert original is not None
        assert copy.patient_id == original.patient_id is not None
        assert str(first.message_id) in (copy.resolution or "")


def test_a_merge_refiles_the_batchs_earlier_messages(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    keep, gone = unique(), unique()
    raws = [
        message("A04", patient_id=keep, family=keep, given="Ann", birth="19700101"),
        message("A04", patient_id=gone, family=gone, given="Ann", birth="19700102"),
        message("A40", patient_id=keep, family=keep, given="Ann", birth="19700101")
        + f"\rMRG|{gone}^^^GHH^MR",
    ]
    outcomes = receive_all(factory, settings, raws)
    assert [o.code for o in outcomes] == ["AA", "AA", "AA"]
    with unit_of_work(factory, write=False) as db:
        survivor = db.scalar(select(Patient).where(Patient.family_name == keep))
        assert survivor is not None
        filed = {
            m.id: m.patient_id
            for m in db.scalars(select(Hl7Message).where(Hl7Message.raw.in_(raws)))
        }
        assert set(filed.values()) == {survivor.id}


def test_one_control_id_on_two_connections_at_once_is_applied_once(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    # The first transaction has claimed the control id and not committed when the second
    # tries: on PostgreSQL the second claim waits for the first commit, on SQLite the second
    # writer waits for the lock. Either way it then sees the claim: applied once.
    pid, control = unique(), unique()
    raw = message("A04", control=control, patient_id=pid, family=pid)
    second: list[inbox.Outcome] = []
    errors: list[BaseException] = []

    def other_connection() -> None:
        try:
            with unit_of_work(factory) as db:
                second.append(
                    inbox.receive(db, raw, source="mllp", peer="b", settings=settings, now=NOW)
                )
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    db = factory()
    try:
        db.connection(execution_options={WRITE_OPTION: True})
        first = inbox.receive(db, raw, source="mllp", peer="a", settings=settings, now=NOW)
        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second copy did not wait for the first transaction"
        db.commit()
    finally:
        db.close()
    thread.join(60)
    assert errors == []
    assert (first.status, [o.status for o in second]) == ("applied", ["duplicate"])
    assert second[0].code == "AA"
    with unit_of_work(factory, write=False) as db:
        charts = db.scalar(
            select(func.count()).select_from(Identifier).where(Identifier.value == pid)
        )
        assert charts == 1
        stored = db.scalar(
            select(func.count()).select_from(Hl7Message).where(Hl7Message.control_id == control)
        )
        assert stored == 2
