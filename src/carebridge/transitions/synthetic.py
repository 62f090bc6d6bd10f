"""Demo hospital traffic: ADT messages from two hospitals for demo patients, fed through the
real inbox (``inbox.receive``) as the MLLP listener would, so the transitions board, the
charts' "Hospital stays" tabs and the interface queue open populated.

Three patients are in hospital now (one was moved to another unit), six were discharged in
the last few days with diagnoses that give low, moderate and high LACE scores (one of them
went home two weeks ago and is overdue), one was readmitted within 30 days, one admission
was cancelled, and two messages are wrong (no PID segment; an unknown event) so they wait in
the interface queue. Patients are named by their MRN in PID-3 with our assigning authority.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carebridge.lib.time import utcnow
from carebridge.patients.models import Patient
from carebridge.settings import Settings
from carebridge.transitions import inbox
from carebridge.transitions.models import Hl7Message

HOSPITALS = (("MERCY", "Mercy Hospital"), ("STLUKE", "St. Luke's Medical Center"))
SENDER = "EPIC"
# (ICD-10-CM code, words) sets from light to heavy comorbidity.
DIAGNOSES: tuple[tuple[tuple[str, str], ...], ...] = (
    (("J18.9", "Pneumonia, unspecified organism"),),
    (("N39.0", "Urinary tract infection, site not specified"), ("E11.9", "Type 2 diabetes")),
    (
        ("I50.9", "Heart failure, unspecified"),
        ("J44.1", "COPD with acute exacerbation"),
        ("E11.22", "Type 2 diabetes with diabetic CKD"),
        ("N18.4", "Chronic kidney disease, stage 4"),
    ),
    (("S72.001A", "Fracture of right femur neck, initial"), ("F03.90", "Dementia")),
    (
        ("I21.4", "NSTEMI"),
        ("I50.22", "Chronic systolic heart failure"),
        ("C34.90", "Malignant neoplasm of lung"),
    ),
    (("K57.32", "Diverticulitis of large intestine"),),
)


@dataclass(frozen=True)
class TransitionsSeeded:
    messages: int
    applied: int
    rejected: int


class _Feed:
    """Builds messages for one demo patient with times relative to ``now``."""

    def __init__(self, settings: Settings, now: dt.datetime) -> None:
        self.settings = settings
        self.now = now
        self.zone = ZoneInfo(settings.timezone)
        self.count = 0

    def stamp(self, when: dt.datetime) -> str:
        return when.astimezone(self.zone).strftime("%Y%m%d%H%M%S%z")

    def header(self, event: str, at: dt.datetime, hospital: str) -> str:
        self.count += 1
        control = f"DEMO{self.stamp(self.now)[:8]}{self.count:04d}"
        return (
            f"MSH|^~\\&|{SENDER}|{hospital}|{self.settings.hl7_application}|"
            f"{self.settings.hl7_facility}|{self.stamp(at)}||ADT^{event}^ADT_A01|{control}|P|2.5"
        )

    def pid(self, patient: Patient) -> str:
        sex = {"female": "F", "male": "M"}.get(patient.sex, "U")
        born = patient.birth_date.strftime("%Y%m%d")
        return (
            f"PID|1||{patient.mrn}^^^{self.settings.hl7_facility}^MR||"
            f"{patient.family_name}^{patient.given_names.split(' ')[0]}||{born}|{sex}"
        )

    def pv1(
        self,
        hospital: str,
        visit: str,
        unit: str,
        *,
        patient_class: str = "I",
        admission_type: str = "E",
        admit: dt.datetime,
        discharge: dt.datetime | None = None,
        disposition: str = "",
        prior: str = "",
        service: str = "MED",
    ) -> str:
        fields = [""] * 46
        fields[0] = "PV1"
        fields[1] = "1"
        fields[2] = patient_class
        fields[3] = f"{unit}^{hospital}"
        fields[4] = admission_type
        fields[6] = f"{prior}^{hospital}" if prior else ""
        fields[7] = "1234567893^Nguyen^Thomas^^^Dr"
        fields[10] = service
        fields[14] = "7" if admission_type == "E" else "1"
        fields[19] = visit
        fields[36] = disposition
        fields[44] = self.stamp(admit)
        fields[45] = self.stamp(discharge) if discharge else ""
        return "|".join(fields).rstrip("|")

    @staticmethod
    def dg1(diagnoses: tuple[tuple[str, str], ...]) -> list[str]:
        return [
            f"DG1|{i}||{code}^{words}^I10|||{'A' if i == 1 else 'F'}"
            for i, (code, words) in enumerate(diagnoses, start=1)
        ]

    def message(self, event: str, at: dt.datetime, hospital: str, *segments: str) -> str:
        return "\r".join(
            [self.header(event, at, hospital), f"EVN|{event}|{self.stamp(at)}", *segments]
        )


def seed(
    db: Session, settings: Settings, *, now: dt.datetime | None = None
) -> TransitionsSeeded | None:
    """The demo's hospital traffic, once (None when messages were received already, or
    there are fewer than 14 patients)."""
    if db.scalar(select(func.count()).select_from(Hl7Message)):
        return None
    people = list(
        db.scalars(
            select(Patient).where(Patient.status == "active").order_by(Patient.mrn).limit(60)
        )
    )
    if len(people) < 14:
        return None
    chosen = people[:: max(1, len(people) // 14)][:14]  # spread over the panel
    now = now or utcnow()
    feed = _Feed(settings, now)
    day = dt.timedelta(days=1)
    hour = dt.timedelta(hours=1)
    raws: list[str] = []

    def stay(
        who: Patient,
        n: int,
        *,
        admitted_days_ago: float,
        discharged_days_ago: float | None,
        diagnoses: tuple[tuple[str, str], ...],
        admission_type: str = "E",
        disposition: str = "01",
        patient_class: str = "I",
        transfer_to: str | None = None,
    ) -> None:
        code, _ = HOSPITALS[n % 2]
        visit = f"V{feed.stamp(now)[:8]}{n:03d}"
        admit = now - day * admitted_days_ago
        unit = ("4W^41{0}^A" if n % 3 else "ICU^{0}^1").format(n % 10)

        def pv1(
            where: str, prior: str = "", left: dt.datetime | None = None, disposition: str = ""
        ) -> str:
            return feed.pv1(
                code,
                visit,
                where,
                patient_class=patient_class,
                admission_type=admission_type,
                admit=admit,
                discharge=left,
                disposition=disposition,
                prior=prior,
            )

        raws.append(
            feed.message("A01", admit, code, feed.pid(who), pv1(unit), *feed.dg1(diagnoses))
        )
        where = unit
        if transfer_to is not None:
            moved = admit + 20 * hour
            raws.append(
                feed.message(
                    "A02",
                    moved,
                    code,
                    feed.pid(who),
                    pv1(transfer_to, prior=unit),
                )
            )
            where = transfer_to
        if discharged_days_ago is not None:
            left = now - day * discharged_days_ago
            raws.append(
                feed.message(
                    "A03",
                    left,
                    code,
                    feed.pid(who),
                    pv1(where, left=left, disposition=disposition),
                    *feed.dg1(diagnoses),
                )
            )

    # In hospital now.
    stay(chosen[0], 1, admitted_days_ago=2, discharged_days_ago=None, diagnoses=DIAGNOSES[0])
    stay(
        chosen[1],
        2,
        admitted_days_ago=4,
        discharged_days_ago=None,
        diagnoses=DIAGNOSES[2],
        transfer_to="5E^520^B",
    )
    stay(
        chosen[2],
        3,
        admitted_days_ago=0.3,
        discharged_days_ago=None,
        diagnoses=DIAGNOSES[5],
        patient_class="E",
    )
    # Discharged lately: light, middling and heavy comorbidity; elective and emergent.
    stay(
        chosen[3],
        4,
        admitted_days_ago=3,
        discharged_days_ago=1,
        diagnoses=DIAGNOSES[0],
        admission_type="R",
    )
    stay(
        chosen[4],
        5,
        admitted_days_ago=9,
        discharged_days_ago=1,
        diagnoses=DIAGNOSES[2],
        disposition="06",
    )
    stay(chosen[5], 6, admitted_days_ago=6, discharged_days_ago=2, diagnoses=DIAGNOSES[1])
    stay(
        chosen[6],
        7,
        admitted_days_ago=15,
        discharged_days_ago=1,
        diagnoses=DIAGNOSES[4],
        transfer_to="CCU^7^2",
    )
    stay(
        chosen[7],
        8,
        admitted_days_ago=5,
        discharged_days_ago=0.5,
        diagnoses=DIAGNOSES[3],
        disposition="06",
    )
    # Home two weeks ago, never reached: overdue.
    stay(chosen[8], 9, admitted_days_ago=18, discharged_days_ago=13, diagnoses=DIAGNOSES[1])
    # Readmitted within 30 days: home 20 days ago, back in 3 days ago, home again yesterday.
    stay(chosen[9], 10, admitted_days_ago=26, discharged_days_ago=20, diagnoses=DIAGNOSES[2])
    stay(chosen[9], 11, admitted_days_ago=3, discharged_days_ago=1, diagnoses=DIAGNOSES[2])
    # An admission sent in error and cancelled (A11).
    code, _ = HOSPITALS[0]
    admit = now - day
    visit = f"V{feed.stamp(now)[:8]}012"
    raws.append(
        feed.message(
            "A01", admit, code, feed.pid(chosen[10]), feed.pv1(code, visit, "2N^201^A", admit=admit)
        )
    )
    raws.append(
        feed.message(
            "A11",
            admit + hour,
            code,
            feed.pid(chosen[10]),
            feed.pv1(code, visit, "2N^201^A", admit=admit),
        )
    )
    # Two the hospital got wrong: no PID segment, and an event we do not know.
    raws.append(
        feed.message(
            "A03",
            now - 2 * hour,
            code,
            feed.pv1(
                code,
                "V-NOPID",
                "3S^310^A",
                admit=now - 3 * day,
                discharge=now - 2 * hour,
                disposition="01",
            ),
        )
    )
    raws.append(
        feed.message(
            "A99",
            now - hour,
            HOSPITALS[1][0],
            feed.pid(chosen[11]),
            feed.pv1(HOSPITALS[1][0], "V-A99", "4W^402^B", admit=now - day),
        )
    )

    applied = rejected = 0
    for raw in raws:
        outcome = inbox.receive(db, raw, source="file", peer="demo", settings=settings, now=now)
        if outcome.code == "AA":
            applied += 1
        else:
            rejected += 1
    db.flush()
    return TransitionsSeeded(messages=len(raws), applied=applied, rejected=rejected)
