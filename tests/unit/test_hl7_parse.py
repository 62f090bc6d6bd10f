"""HL7 v2 reading without a database: timestamps with and without offsets, escapes,
repetitions, the header checks that make an AR, and the ACK we answer with."""

from __future__ import annotations

import datetime as dt

import pytest

from carebridge.settings import Settings
from carebridge.transitions import ack
from carebridge.transitions.hl7 import (
    Hl7Error,
    Message,
    check_header,
    date_of,
    diagnoses,
    header,
    merges,
    person,
    timestamp,
    visit,
)
from carebridge.transitions.inbox import ack_for_garbage, split_batch

ZONE = "America/Chicago"


def pv1() -> str:
    fields = ["PV1", "1", "I", "4E^412^B^GHH"] + [""] * 42
    fields[7] = "1234^WELBY^MARCUS^^^DR"
    fields[10], fields[14], fields[19], fields[36] = "MED", "7", "V100", "01"
    fields[44], fields[45] = "20240301100000-0500", "20240305143000"
    return "|".join(fields)


def adt(event: str = "A01", version: str = "2.5.1", extra: str = "") -> str:
    return "\r".join(
        [
            "MSH|^~\\&|ADT1|GOOD HEALTH|CB|CB|20240301101500-0500|"
            f"|ADT^{event}^ADT_A01|C1|P|{version}",
            f"EVN|{event}|20240301101000-0500",
            "PID|1||PAT1^^^GHH&1.2.3&ISO^MR~123456789^^^USSSA^SS||O\\S\\BRIEN&&&&^MARY^ANN^^^^L"
            "||19610615|F|||12 Elm St^Apt 2^Springfield^IL^62701||(217) 555-0100|||||ACC9",
            pv1(),
            "DG1|1|I10|I50.9^Heart failure, unspecified^I10||20240301|A",
            extra,
        ]
    ).rstrip("\r")


def test_timestamps_are_utc_and_keep_the_senders_offset() -> None:
    assert timestamp("198908181126+0215", "MSH-7", ZONE) == dt.datetime(
        1989, 8, 18, 9, 11, tzinfo=dt.UTC
    )
    # no offset: the sender's local time (Chicago, daylight saving in July)
    assert timestamp("20240701120000", "PV1-44", ZONE) == dt.datetime(
        2024, 7, 1, 17, 0, tzinfo=dt.UTC
    )
    assert timestamp("20210817151943.4+0200", "EVN-6", ZONE) == dt.datetime(
        2021, 8, 17, 13, 19, 43, 400000, tzinfo=dt.UTC
    )
    assert timestamp("2024", "EVN-2", ZONE) == dt.datetime(2024, 1, 1, 6, 0, tzinfo=dt.UTC)
    assert timestamp("", "PV1-45", ZONE) is None


def test_a_bad_timestamp_names_its_field() -> None:
    with pytest.raises(Hl7Error) as caught:
        timestamp("2024-03-01", "PV1-45", ZONE)
    assert caught.value.location == "PV1-45"
    assert caught.value.code == "102"
    assert caught.value.ack_code == "AE"
    with pytest.raises(Hl7Error, match="not a valid date"):
        timestamp("20240231", "PID-7", ZONE)


def test_a_birth_date_is_the_date_written_whatever_the_offset() -> None:
    assert date_of("19850101000000+0700", "PID-7") == dt.date(1985, 1, 1)
    with pytest.raises(Hl7Error, match="PID-7"):
        date_of("1985", "PID-7")


def test_person_visit_and_diagnoses_are_read_unescaped() -> None:
    message = Message(adt())
    who = person(message, ZONE)
    assert who.family == "O^BRIEN"  # \S\ is the component separator, escaped
    assert who.given == "MARY ANN"
    assert who.birth_date == dt.date(1961, 6, 15)
    assert who.sex == "female"
    assert [(i.value, i.authority, i.type) for i in who.identifiers] == [
        ("PAT1", "1.2.3", "MR"),
        ("123456789", "USSSA", "SS"),
    ]
    assert (who.city, who.state, who.postal_code) == ("Springfield", "IL", "62701")
    assert who.account_number == "ACC9"
    stay = visit(message, ZONE)
    assert stay.patient_class == "I"
    assert stay.location == "4E 412 B"
    assert stay.facility == "GHH"
    assert stay.visit_number == "V100"
    assert stay.discharge_disposition == "01"
    assert stay.admit_at == dt.datetime(2024, 3, 1, 15, 0, tzinfo=dt.UTC)
    assert stay.discharge_at == dt.datetime(2024, 3, 5, 20, 30, tzinfo=dt.UTC)  # CST, no offset
    assert stay.attending == "DR MARCUS WELBY"
    assert [d.as_dict() for d in diagnoses(message)] == [
        {"code": "I50.9", "text": "Heart failure, unspecified", "system": "ICD-10", "type": "A"}
    ]


def test_escapes_in_free_text_and_merge_segments() -> None:
    message = Message(adt("A40", extra="MRG|OLD7^^^GHH&1.2.3&ISO^MR||ACC1"))
    (merge,) = merges(message)
    assert [(i.value, i.authority) for i in merge.prior_identifiers] == [("OLD7", "1.2.3")]
    assert merge.prior_account == "ACC1"
    text = Message(adt().replace("|MED|", "|A\\T\\E|"))
    assert visit(text, ZONE).hospital_service == "A&E"


def test_line_feeds_and_a_byte_order_mark_are_accepted() -> None:
    message = Message("\ufeff" + adt().replace("\r", "\n") + "\n")
    assert header(message, ZONE).control_id == "C1"


@pytest.mark.parametrize(
    ("raw", "location", "code"),
    [
        ("hello", "MSH", "100"),
        (adt().replace("MSH|^~\\&|", "MSH|^~|", 1), "MSH-2", "102"),
        (adt(version="2.9"), "MSH-12", "203"),
        (adt().replace("ADT^A01^ADT_A01", "ORU^R01", 1), "MSH-9", "200"),
        (adt().replace("ADT^A01^ADT_A01", "ADT^Z99", 1), "MSH-9", "201"),
        (adt().replace("|C1|P|", "||P|", 1), "MSH-10", "101"),
        (adt().replace("|C1|P|", "|C1|X|", 1), "MSH-11", "202"),
    ],
)
def test_what_makes_a_message_rejected(raw: str, location: str, code: str) -> None:
    with pytest.raises(Hl7Error) as caught:
        check_header(header(Message(raw), ZONE))
    assert caught.value.ack_code == "AR"
    assert caught.value.location == location
    assert caught.value.code == code


def test_a_missing_patient_identifier_is_an_application_error() -> None:
    message = Message(adt().replace("PAT1^^^GHH&1.2.3&ISO^MR~123456789^^^USSSA^SS", ""))
    with pytest.raises(Hl7Error) as caught:
        person(message, ZONE)
    assert (caught.value.ack_code, caught.value.location, caught.value.code) == (
        "AE",
        "PID-3",
        "101",
    )


def test_the_ack_echoes_the_control_id_and_carries_the_error() -> None:
    head = header(Message(adt()), ZONE)
    text = ack.build(
        "AE",
        application="CAREBRIDGE",
        facility="CLINIC",
        head=head,
        error="PID-7 (date of birth) is empty | needed",
        location="PID-7",
        error_code="101",
        now=dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC),
    )
    msh, msa, err = text.split("\r")
    assert msh.startswith("MSH|^~\\&|CAREBRIDGE|CLINIC|ADT1|GOOD HEALTH|20240301120000+0000||")
    assert msh.split("|")[8] == "ACK^A01^ACK"
    assert msh.split("|")[11] == "2.5.1"
    assert msa.split("|")[:3] == ["MSA", "AE", "C1"]
    fields = err.split("|")
    assert fields[2] == "PID^1^7"
    assert fields[3] == "101^Required field missing^HL70357"
    assert fields[4] == "E"
    assert fields[8] == "PID-7 (date of birth) is empty \\F\\ needed"


def test_a_batch_file_splits_into_its_messages() -> None:
    text = "\n".join(
        ["FHS|^~\\&|ADT1", "BHS|^~\\&|ADT1", adt("A01"), adt("A03"), "BTS|2", "FTS|1", ""]
    )
    found = split_batch(text)
    assert len(found) == 2
    assert [header(Message(m), ZONE).event for m in found] == ["A01", "A03"]
    assert all(m.startswith("MSH|") for m in found)


def test_garbage_gets_an_ar_without_a_control_id() -> None:
    settings = Settings(database_url="sqlite://", secret_key="k" * 48)  # type: ignore[call-arg]
    text = ack_for_garbage(b"\x00\x01 not hl7", settings, "No MSH segment at the start")
    msh, msa, err = text.split("\r")
    assert msh.startswith("MSH|^~\\&|CAREBRIDGE|CAREBRIDGE|||")
    assert msa == "MSA|AR||No MSH segment at the start"
    assert err.split("|")[3] == "100^Segment sequence error^HL70357"
