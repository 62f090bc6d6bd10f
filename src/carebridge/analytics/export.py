"""Any list or measure as a download, CSV or XLSX, with the export audited.

A ``Table`` is what a screen shows (a title, column headings, rows of plain values); ``download``
writes it in the asked format and records the export (who, what, which patients) in the audit
log before the bytes leave. Text that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or carriage return) is defused: in CSV, which has no cell
types, with a leading apostrophe, as OWASP advises against CSV injection; in XLSX the cell is
typed as a string and marked "quote prefix" (Excel's own flag for text typed after an
apostrophe, which it keeps as text even when the cell is edited), so the text is shown as it
is, without an apostrophe. Numbers and dates are written as numbers and dates.

Times: CSV writes a datetime in ISO 8601 with its offset, if it has one. XLSX has no time
zones, so an aware datetime is converted to ``Table.zone`` (the clinic's) and written as that
wall time; a table holding aware datetimes without a zone is refused rather than guessed at.
A naive datetime is taken as a wall time already and written as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Font
from sqlalchemy.orm import Session
from starlette.responses import Response

from carebridge.lib.errors import ValidationFailed
from carebridge.lib.time import utcnow
from carebridge.security.audit import Action, Actor, deferred, record

Cell = str | int | float | dt.date | dt.datetime | None
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel's sheet titles: at most 31 characters, none of []:*?/\
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Table:
    """Rows as a screen lists them. ``patient_ids`` are the patients the rows show, named in
    the audit record of the export; ``zone`` is the time zone aware datetimes are shown in
    (needed only if the rows hold any, for XLSX)."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Cell]]
    patient_ids: Sequence[uuid.UUID] = field(default_factory=list)
    zone: str | None = None


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return _safe_text(value)
    return str(value)


def to_csv(table: Table) -> bytes:
    """UTF-8 with a byte-order mark, so spreadsheet programs read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(table.columns))
    for row in table.rows:
        writer.writerow([_csv_cell(c) for c in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _aware(value: Cell) -> bool:
    return isinstance(value, dt.datetime) and value.tzinfo is not None


def _xlsx_cell(sheet: Any, value: Cell, zone: ZoneInfo | None) -> Cell | SheetCell:
    if isinstance(value, dt.datetime) and zone is not None and value.tzinfo is not None:
        return value.astimezone(zone).replace(tzinfo=None)  # Excel has no time zones
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # text, never a formula
        cell.quotePrefix = True
        return cell
    return value


def to_xlsx(table: Table) -> bytes:
    zone = ZoneInfo(table.zone) if table.zone else None
    if zone is None and any(_aware(c) for row in table.rows for c in row):
        raise ValueError("an aware datetime in an XLSX table needs the table's zone")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_SHEET_FORBIDDEN.sub(" ", table.title)[:31] or "Export")
    heading = []
    for name in table.columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        heading.append(cell)
    sheet.append(heading)
    for row in table.rows:
        sheet.append([_xlsx_cell(sheet, c, zone) for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _filename(title: str, fmt: str) -> str:
    stem = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "export"
    return f"{stem}-{utcnow():%Y%m%d}.{fmt}"


def _check(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationFailed(
            "Unknown export format", fields={"format": f"Use one of {', '.join(FORMATS)}."}
        )


def encode(table: Table, fmt: str) -> bytes:
    """The table as the bytes of a ``fmt`` (csv or xlsx) file."""
    _check(fmt)
    return to_csv(table) if fmt == "csv" else to_xlsx(table)


def download(
    db: Session,
    actor: Actor,
    table: Table,
    fmt: str,
    *,
    entity_type: str,
    reason: str,
    body: bytes | None = None,
) -> Response:
    """The table as a file in ``fmt`` (csv or xlsx); the export is audited once, naming the
    rows' patients (one record per patient, so a patient's access history shows it).
    ``body``: the file made beforehand by ``encode`` (so that a long one is not written
    while the caller holds a write lock)."""
    _check(fmt)
    if body is None:
        body = encode(table, fmt)
    with deferred(db):  # one INSERT for all the records
        record(db, actor, Action.EXPORT, entity_type=entity_type, reason=reason)
        for patient_id in dict.fromkeys(table.patient_ids):
            record(
                db,
                actor,
                Action.EXPORT,
                entity_type=entity_type,
                patient_id=patient_id,
                reason=reason,
            )
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={"content-disposition": f'attachment; filename="{_filename(table.title, fmt)}"'},
    )
