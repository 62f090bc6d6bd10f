"""The tables of education: the library of materials and what was given to whom.

Both keep their history of changes (``__versioned__``): every edit of a material and every
step of an assignment (assigned, delivered, teach-back) is kept with who made it and when.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, Tracked, UuidPk


class EducationMaterial(UuidPk, Tracked, Base):
    """One handout: plain text (markdown-lite) or an uploaded PDF, in one language, for the
    patient or their family, tagged with the conditions it is about (ICD-10-CM prefixes)."""

    __tablename__ = "education_materials"
    __versioned__ = True
    __table_args__ = (Index("ix_education_materials_language", "language", "status"),)

    # A stable key for materials we ship (``starter.py``); None for ones added here.
    code: Mapped[str | None] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))
    file_type: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8), default="en")  # en | es
    audience: Mapped[str] = mapped_column(String(16), default="patient")  # patient | family
    # ICD-10-CM prefixes such as "E11", "I50".
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str | None] = mapped_column(String(300))
    reviewed_on: Mapped[dt.date | None] = mapped_column(Date)
    # Flesch-Kincaid grade of the body (None for a file without text).
    reading_grade: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | retired


class EducationFile(Base):
    """The uploaded PDF of a material, kept apart so the material's history stays small."""

    __tablename__ = "education_files"

    material_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("education_materials.id"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class EducationAssignment(UuidPk, Tracked, Base):
    """A material given to a patient: assigned, then delivered (printed or emailed), then the
    teach-back (did the patient say it back in their own words?). May belong to a care plan
    through a care-plan activity of kind education."""

    __tablename__ = "education_assignments"
    __versioned__ = True
    __table_args__ = (Index("ix_education_assignments_patient", "patient_id", "status"),)

    patient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("patients.id"))
    material_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("education_materials.id"), index=True)
    care_plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_plans.id"), index=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("care_plan_activities.id"))
    # assigned | delivered | cancelled
    status: Mapped[str] = mapped_column(String(16), default="assigned")
    note: Mapped[str | None] = mapped_column(Text)
    delivered_via: Mapped[str | None] = mapped_column(String(8))  # print | email
    delivered_at: Mapped[dt.datetime | None]
    outbox_message_id: Mapped[uuid.UUID | None]
    # understood | needs-review
    teach_back: Mapped[str | None] = mapped_column(String(16))
    teach_back_note: Mapped[str | None] = mapped_column(Text)
    teach_back_on: Mapped[dt.date | None] = mapped_column(Date)
    teach_back_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
