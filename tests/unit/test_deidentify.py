"""Safe Harbor de-identification of one patient's row (worked fixtures)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any

from carebridge.analytics.deidentify import deidentify, shift_days, study_id, zip3
from carebridge.lib.time import age_on

SECRET = b"run-secret-0123456789abcdef"
OTHER = b"another-secret-0123456789abcd"
AS_OF = dt.date(2026, 6, 1)
PID = uuid.UUID("12345678-1234-5678-1234-567812345678")

# Every identifier Safe Harbor names that a Carebridge row can carry.
IDENTIFIERS: dict[str, Any] = {
    "family_name": "Okafor",
    "given_names": "Adaeze Marie",
    "preferred_name": "Ada",
    "address_line1": "12 Elm Street",
    "address_line2": "Apt 4",
    "city": "Berlin",
    "phone": "+16035550142",
    "fax": "+16035550199",
    "email": "ada.okafor@example.org",
    "mrn": "MRN-004711",
    "ssn": "123-45-6789",
    "member_id": "BCBS-99881",
    "account": "ACC-5521",
    "license": "NH-D1234567",
    "vehicle": "1HGCM82633A004352",
    "device_id": "PACER-SN-778812",
    "url": "https://ada.example.org/",
    "ip": "203.0.113.7",
    "photo": b"\x89PNG fake",
    "alerts": "Daughter Ngozi Okafor calls on Tuesdays",
}


def _row(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": PID,
        "birth_date": dt.date(1960, 3, 15),
        "deceased_date": None,
        "sex": "female",
        "gender_identity": None,
        "race": ["2054-5"],
        "ethnicity": "2186-5",
        "language": "en",
        "state": "NH",
        "postal_code": "03601",
        **IDENTIFIERS,
    }
    row.update(overrides)
    return row


def test_every_identifier_is_removed() -> None:
    out = deidentify(_row(), SECRET, as_of=AS_OF)
    text = repr(out)
    for name, value in IDENTIFIERS.items():
        assert name not in out
        shown = value.decode("latin-1") if isinstance(value, bytes) else value
        assert shown not in text, name
    assert "id" not in out
    assert str(PID) not in text
    assert PID.hex not in text
    assert set(out) == {
        "study_id",
        "age",
        "birth_date",
        "deceased",
        "deceased_date",
        "sex",
        "gender_identity",
        "race",
        "ethnicity",
        "language",
        "state",
        "zip3",
        "history",
    }


def test_zip_codes() -> None:
    assert zip3("03601") == "000"  # 036 is one of the 17 restricted areas
    assert zip3("78701") == "787"
    assert zip3("78701-1234") == "787"
    assert zip3("89301") == "000"
    assert zip3(None) is None
    assert zip3("K1A 0B1") is None
    assert deidentify(_row(), SECRET, as_of=AS_OF)["zip3"] == "000"
    assert deidentify(_row(postal_code="78701"), SECRET, as_of=AS_OF)["zip3"] == "787"


def test_age_over_89_is_grouped_and_birth_year_removed() -> None:
    # Born 1934-12-01: on 2026-06-01 the birthday has not come yet, 2026 - 1934 - 1 = 91.
    old = deidentify(_row(birth_date=dt.date(1934, 12, 1)), SECRET, as_of=AS_OF, dates="year")
    assert old["age"] == "90+"
    assert old["birth_date"] is None
    assert "1934" not in repr(old)
    # Born 1936-06-01: exactly 90 on the day -> grouped too.
    assert deidentify(_row(birth_date=dt.date(1936, 6, 1)), SECRET, as_of=AS_OF)["age"] == "90+"
    # Born 1936-06-02: one day short of 90, so 89, kept with its year.
    kept = deidentify(_row(birth_date=dt.date(1936, 6, 2)), SECRET, as_of=AS_OF, dates="year")
    assert kept["age"] == "89"
    assert kept["birth_date"] == 1936


def test_study_id_and_offset_from_the_hmac() -> None:
    digest = hmac.new(SECRET, PID.bytes, hashlib.sha256).digest()
    assert study_id(SECRET, PID) == "S" + digest.hex()[:20]
    expected = int.from_bytes(digest[16:24], "big") % 361 - 180
    assert shift_days(SECRET, PID) == expected
    assert -180 <= expected <= 180
    # Same run, same patient: same pseudonym and offset.
    assert study_id(SECRET, PID) == study_id(SECRET, PID)
    # Another secret: another pseudonym and (for this patient) another offset.
    assert study_id(OTHER, PID) != study_id(SECRET, PID)
    assert shift_days(OTHER, PID) != shift_days(SECRET, PID)


def test_offsets_stay_within_180_days() -> None:
    offsets = {shift_days(SECRET, uuid.UUID(int=i)) for i in range(2000)}
    assert min(offsets) >= -180
    assert max(offsets) <= 180
    assert len(offsets) > 300  # spread over the range, not a constant


def test_shifted_dates_keep_intervals() -> None:
    history = [
        {"kind": "condition", "code_system": "icd", "code": "E11.9", "status": "active",
         "start": dt.date(2025, 1, 10), "end": None},
        {"kind": "medication", "code_system": "rxnorm", "code": "860975", "status": "stopped",
         "start": dt.date(2025, 2, 1), "end": dt.date(2025, 3, 3)},
    ]  # fmt: skip
    out = deidentify(_row(), SECRET, as_of=AS_OF, history=history)
    offset = dt.timedelta(days=shift_days(SECRET, PID))
    assert out["birth_date"] == (dt.date(1960, 3, 15) + offset).isoformat()
    cond, med = out["history"]
    assert cond["start"] == (dt.date(2025, 1, 10) + offset).isoformat()
    start = dt.date.fromisoformat(med["start"])
    end = dt.date.fromisoformat(med["end"])
    assert (end - start).days == 30  # 1 Feb to 3 Mar 2025 is 28 + 2 = 30 days
    assert (start - dt.date.fromisoformat(cond["start"])).days == 22  # 10 Jan to 1 Feb
    assert med["code"] == "860975"


def test_year_mode_keeps_only_years() -> None:
    history = [
        {"kind": "condition", "code_system": "icd", "code": "I10", "status": "resolved",
         "start": dt.date(2024, 12, 30), "end": dt.date(2025, 1, 2)},
    ]  # fmt: skip
    out = deidentify(
        _row(deceased_date=dt.date(2026, 2, 1)), SECRET, as_of=AS_OF, dates="year", history=history
    )
    assert out["birth_date"] == 1960
    assert out["deceased"] is True
    assert out["deceased_date"] == 2026
    assert out["age"] == "65"  # on 2026-02-01, before the 15 March birthday: 2026-1960-1
    assert out["history"][0]["start"] == 2024
    assert out["history"][0]["end"] == 2025


def test_shifted_mode_gives_the_age_of_the_shifted_birth_date() -> None:
    """An exact age beside a shifted birth date would narrow the patient's offset (born 15
    March, aged 66 on 1 June: the offset cannot move the birthday past 1 June). In shifted
    mode the age is the shifted birth date's, so it says nothing the shifted date does not;
    in year mode it stays the real age."""
    born = dt.date(1960, 3, 15)
    real_age = 66  # on 2026-06-01
    ids = [uuid.UUID(int=n) for n in range(200)]
    moved = [
        p for p in ids if born + dt.timedelta(days=shift_days(SECRET, p)) > dt.date(1960, 6, 1)
    ]
    assert moved, "some offsets move the birthday past 1 June"
    for pid in (PID, *moved[:3]):
        out = deidentify(_row(id=pid, birth_date=born), SECRET, as_of=AS_OF)
        shifted = dt.date.fromisoformat(out["birth_date"])
        assert out["age"] == str(age_on(shifted, AS_OF)[0])
    late = deidentify(_row(id=moved[0], birth_date=born), SECRET, as_of=AS_OF)
    assert late["age"] == str(real_age - 1)
    year = deidentify(_row(id=moved[0], birth_date=born), SECRET, as_of=AS_OF, dates="year")
    assert year["age"] == str(real_age)
    # At death: the interval between the shifted dates, which shifting keeps.
    dead = deidentify(
        _row(id=moved[0], birth_date=born, deceased_date=dt.date(2026, 3, 14)), SECRET, as_of=AS_OF
    )
    assert dead["age"] == "65"


def test_the_90_plus_group_holds_in_shifted_mode_too() -> None:
    # Real age 89 (one day short of 90): if the shift makes the birth date 90 years back, the
    # patient is "90+" and loses the dates; a real 90 stays "90+" whatever the shift.
    for n in range(100):
        pid = uuid.UUID(int=n)
        for born in (dt.date(1936, 6, 2), dt.date(1936, 6, 1)):
            out = deidentify(_row(id=pid, birth_date=born), SECRET, as_of=AS_OF)
            if out["age"] == "90+":
                assert out["birth_date"] is None
            else:
                assert int(out["age"]) <= 89
                assert born == dt.date(1936, 6, 2)
