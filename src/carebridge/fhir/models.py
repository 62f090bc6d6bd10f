"""Where FHIR resources live: one row per resource we serve (``fhir_resources``), holding the
JSON exactly as served, and every earlier version of it (``fhir_resource_versions``).

Two origins share the table. ``mapped`` resources are renderings of Carebridge's own records
(a Patient is the chart), kept current as those records change. ``received`` resources are
records from elsewhere that Carebridge does not model (Immunization, ExplanationOfBenefit...):
kept as received, indexed by patient, date, code and status so they can be searched and shown
in the chart. ``fhir_source_ids`` remembers what an import created for a sender's id, so the
same import run twice creates nothing new.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carebridge.db.base import Base, BigIntPk, UuidPk


class FhirResource(Base):
    """The current version of one resource. ``content`` is the compact JSON as served, with
    ``meta.versionId`` and ``meta.lastUpdated`` inside, so a read returns it unchanged;
    ``content_hash`` is over the resource without those, so an unchanged resource written
    again gets no new version."""

    __tablename__ = "fhir_resources"
    __table_args__ = (
        UniqueConstraint("resource_type", "id", name="uq_fhir_resources_type_id"),
        Index("ix_fhir_resources_patient", "patient_id", "resource_type", "date_start"),
        Index("ix_fhir_resources_code", "resource_type", "code", "code_system"),
        Index("ix_fhir_resources_updated", "last_updated", "pk"),
    )

    pk: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    id: Mapped[str] = mapped_column(String(64))  # the logical id, as in URLs
    origin: Mapped[str] = mapped_column(String(8))  # mapped | received
    version_id: Mapped[int]
    last_updated: Mapped[dt.datetime]
    deleted: Mapped[bool] = mapped_column(default=False)
    patient_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("patients.id"))
    date_start: Mapped[dt.datetime | None]
    date_end: Mapped[dt.datetime | None]
    code_system: Mapped[str | None] = mapped_column(String(255))
    code: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    content_hash: Mapped[str] = mapped_column(String(64))


class FhirResourceVersion(Base):
    """Every version of every resource, the current one included: history and vread."""

    __tablename__ = "fhir_resource_versions"

    resource_pk: Mapped[int] = mapped_column(
        BigIntPk, ForeignKey("fhir_resources.pk"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_updated: Mapped[dt.datetime]
    deleted: Mapped[bool] = mapped_column(default=False)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class FhirSourceId(Base):
    """A sender's id for a resource (``namespace`` names the sender or the import) and the
    resource it became here."""

    __tablename__ = "fhir_source_ids"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource_pk: Mapped[int] = mapped_column(BigIntPk, ForeignKey("fhir_resources.pk"), index=True)
    # For what a chart was made from (a Patient), the resource as the sender last sent it.
    original: Mapped[bytes | None] = mapped_column(LargeBinary)


# Search index: one row per value a resource is found by, rewritten with each version. Values
# compare byte-wise (collation "C" on PostgreSQL) so a prefix search is an index range scan.
IndexText = String(255).with_variant(String(255, collation="C"), "postgresql")


class FhirToken(Base):
    """A token value (code, identifier, telecom, boolean) of a search parameter."""

    __tablename__ = "fhir_tokens"
    __table_args__ = (
        Index("ix_fhir_tokens_value", "param", "code", "system"),
        Index("ix_fhir_tokens_resource", "resource_pk", "param"),
    )

    pk: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(BigIntPk, ForeignKey("fhir_resources.pk"))
    param: Mapped[str] = mapped_column(String(64))
    system: Mapped[str | None] = mapped_column(IndexText)
    code: Mapped[str] = mapped_column(IndexText)


class FhirString(Base):
    """A string value of a search parameter: ``value`` folded (no accents, case or repeated
    spaces) for the default starts-with match, ``exact`` as written for ``:exact``."""

    __tablename__ = "fhir_strings"
    __table_args__ = (
        Index("ix_fhir_strings_value", "param", "value"),
        Index("ix_fhir_strings_resource", "resource_pk", "param"),
    )

    pk: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(BigIntPk, ForeignKey("fhir_resources.pk"))
    param: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(IndexText)
    exact: Mapped[str] = mapped_column(IndexText)


class FhirReference(Base):
    """A reference a search parameter follows (and ``_include``/``_revinclude`` walk)."""

    __tablename__ = "fhir_references"
    __table_args__ = (
        Index("ix_fhir_references_target", "target_type", "target_id", "param"),
        Index("ix_fhir_references_resource", "resource_pk", "param"),
    )

    pk: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(BigIntPk, ForeignKey("fhir_resources.pk"))
    param: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))


class FhirExport(UuidPk, Base):
    """A Bulk Data export (``$export``): what was asked, as of when, and what it holds.

    The files are not copies: each one is read, when downloaded, from the resources as they
    were at ``transaction_time`` (the current row, or the version kept in
    ``fhir_resource_versions`` for one changed since), so an export costs no storage and
    still shows one moment. ``manifest`` lists the files (type, part, key range, count).
    """

    __tablename__ = "fhir_exports"

    level: Mapped[str] = mapped_column(String(8))  # system | patient
    types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every type
    since: Mapped[dt.datetime | None]
    transaction_time: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(16))  # accepted | complete | error | cancelled
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    request_url: Mapped[str] = mapped_column(Text)
    manifest: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime]
    completed_at: Mapped[dt.datetime | None]


class FhirImportJob(UuidPk, Base):
    """An import started from the import page: its files, how far it has got and what it
    did (the summary per type, warnings and failed files), for the page to show."""

    __tablename__ = "fhir_import_jobs"

    source: Mapped[str] = mapped_column(String(64))  # the sender namespace
    status: Mapped[str] = mapped_column(String(16))  # running | done | failed
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    files_done: Mapped[int] = mapped_column(default=0)
    resources: Mapped[int] = mapped_column(default=0)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
