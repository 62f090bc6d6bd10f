"""Reading Open Referral HSDS data: the tabular CSV files (HSDS 2.x and 3.0) from a folder, a
zip or uploaded files, and HSDS 3.0 JSON service objects, into one :class:`Dataset`.

Reading checks every row before anything is written: a missing required field, a reference
to a record that is in neither the data nor the directory, or a value of the wrong form is a
:class:`Problem` naming the file, the line (the CSV line, header = line 1; for JSON the
position of the service object, from 1) and the field. Pure: no database here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from carebridge.community.codes import RRULE_DAYS

# File -> the fields HSDS requires in it (HSDS 3.0 tabular; 2.x file names also read).
REQUIRED: dict[str, tuple[str, ...]] = {
    "organizations.csv": ("id", "name", "description"),
    "services.csv": ("id", "organization_id", "name", "status"),
    "locations.csv": ("id",),
    "service_at_location.csv": ("id", "service_id", "location_id"),
    "phones.csv": ("id", "number"),
    "schedules.csv": ("id",),
    "regular_schedules.csv": ("id", "weekday"),
    "languages.csv": ("id",),
    "addresses.csv": (
        "id",
        "address_1",
        "city",
        "state_province",
        "postal_code",
        "country",
        "address_type",
    ),
    "physical_addresses.csv": (
        "id",
        "address_1",
        "city",
        "state_province",
        "postal_code",
        "country",
    ),
    "taxonomy_terms.csv": ("id", "name", "description"),
    "attributes.csv": ("id", "link_id", "taxonomy_term_id", "link_entity"),
    "taxonomy.csv": ("id", "name"),
    "service_taxonomy.csv": ("id", "service_id", "taxonomy_id"),
}
# Fields required only when the file has the column (HSDS 3.0 / 2.x differences).
REQUIRED_IF_PRESENT: dict[str, tuple[str, ...]] = {
    "locations.csv": ("location_type",),
    "languages.csv": ("language",),
}
KNOWN_FILES = tuple(REQUIRED)
SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}, {self.field}: {self.message}"


@dataclass
class Row:
    """One HSDS record as read, with where it came from."""

    file: str
    line: int
    values: dict[str, str]

    def get(self, name: str) -> str:
        return (self.values.get(name) or "").strip()

    def opt(self, name: str) -> str | None:
        return self.get(name) or None


@dataclass(frozen=True)
class Opening:
    hsds_id: str
    service: str | None
    location: str | None
    weekday: int
    opens_at: dt.time
    closes_at: dt.time
    description: str | None
    file: str = ""
    line: int = 0


@dataclass
class Dataset:
    organizations: dict[str, Row] = field(default_factory=dict)
    services: dict[str, Row] = field(default_factory=dict)
    locations: dict[str, Row] = field(default_factory=dict)
    service_at_locations: dict[str, Row] = field(default_factory=dict)
    phones: dict[str, Row] = field(default_factory=dict)
    languages: dict[str, Row] = field(default_factory=dict)
    openings: list[Opening] = field(default_factory=list)
    # location HSDS id -> its physical address row
    addresses: dict[str, Row] = field(default_factory=dict)
    # service HSDS id -> taxonomy terms (code, name)
    terms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    skipped: int = 0  # schedule rows with no weekly opening (e.g. closed days)


# --- reading CSV -----------------------------------------------------------------------------


def _csv_rows(name: str, text: str, data: Dataset) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    required = REQUIRED[name] + tuple(f for f in REQUIRED_IF_PRESENT.get(name, ()) if f in header)
    missing = [needed for needed in required if needed not in header]
    for needed in missing:
        data.problems.append(Problem(name, 1, needed, "required column is missing"))
    present = [needed for needed in required if needed not in missing]
    rows: list[Row] = []
    for values in reader:
        row = Row(name, reader.line_num, {k: v or "" for k, v in values.items() if k})
        for needed in present:
            if not row.get(needed):
                data.problems.append(Problem(name, row.line, needed, "required but empty"))
        rows.append(row)
    return rows


def read_csv_files(files: Mapping[str, str]) -> Dataset:
    """``files``: HSDS file name -> its text. Unknown file names are listed as problems."""
    data = Dataset()
    tables: dict[str, list[Row]] = {}
    for name, text in files.items():
        base = name.rsplit("/", 1)[-1].lower()
        if base == "datapackage.json":
            continue
        if base not in REQUIRED:
            data.problems.append(
                Problem(base, 1, "file", "not an HSDS file read here: " + ", ".join(KNOWN_FILES))
            )
            continue
        data.files.append(base)
        tables[base] = _csv_rows(base, text, data)
    if "organizations.csv" not in tables and "services.csv" not in tables:
        data.problems.append(
            Problem("organizations.csv", 0, "file", "no organizations.csv or services.csv given")
        )

    def keyed(name: str) -> dict[str, Row]:
        return {row.get("id"): row for row in tables.get(name, []) if row.get("id")}

    data.organizations = keyed("organizations.csv")
    data.services = keyed("services.csv")
    data.locations = keyed("locations.csv")
    data.service_at_locations = keyed("service_at_location.csv")
    data.phones = keyed("phones.csv")
    data.languages = keyed("languages.csv")
    for name in ("addresses.csv", "physical_addresses.csv"):
        for row in tables.get(name, []):
            if row.get("address_type") in ("", "physical") and row.get("location_id"):
                data.addresses[row.get("location_id")] = row
    _terms_v3(data, tables)
    _terms_v2(data, tables)
    for row in tables.get("schedules.csv", []):
        _schedule_v3(row, data)
    for row in tables.get("regular_schedules.csv", []):
        _schedule_v2(row, data)
    for row in data.service_at_locations.values():
        for rel, pool in (("service_id", data.services), ("location_id", data.locations)):
            if row.get(rel) and row.get(rel) not in pool:
                data.problems.append(
                    Problem(row.file, row.line, rel, f"“{row.get(rel)}” is not in the data")
                )
    return data


def _terms_v3(data: Dataset, tables: dict[str, list[Row]]) -> None:
    terms = {row.get("id"): row for row in tables.get("taxonomy_terms.csv", [])}
    for row in tables.get("attributes.csv", []):
        link_type = row.get("link_entity") or row.get("link_type")
        if link_type not in ("", "service") or not row.get("link_id"):
            continue
        term = terms.get(row.get("taxonomy_term_id"))
        if term is None:
            data.problems.append(
                Problem(row.file, row.line, "taxonomy_term_id", "not in taxonomy_terms.csv")
            )
            continue
        data.terms.setdefault(row.get("link_id"), []).append(
            (term.get("code") or term.get("term") or term.get("id"), term.get("name"))
        )


def _terms_v2(data: Dataset, tables: dict[str, list[Row]]) -> None:
    terms = {row.get("id"): row for row in tables.get("taxonomy.csv", [])}
    for row in tables.get("service_taxonomy.csv", []):
        term = terms.get(row.get("taxonomy_id"))
        if term is None:
            data.problems.append(Problem(row.file, row.line, "taxonomy_id", "not in taxonomy.csv"))
            continue
        data.terms.setdefault(row.get("service_id"), []).append((term.get("id"), term.get("name")))


def parse_time(text: str) -> dt.time | None:
    text = text.strip()
    for form in ("%H:%M:%S", "%H:%M"):
        try:
            return dt.datetime.strptime(text[:8], form).time()  # noqa: DTZ007 - wall clock
        except ValueError:
            continue
    return None


def _times(row: Row, data: Dataset) -> tuple[dt.time, dt.time] | None:
    found = []
    for name in ("opens_at", "closes_at"):
        text = row.get(name)
        if not text:
            return None
        value = parse_time(text)
        if value is None:
            data.problems.append(
                Problem(row.file, row.line, name, f"“{text}” is not a time such as 09:00")
            )
            return None
        found.append(value)
    if found[1] <= found[0]:
        data.problems.append(
            Problem(row.file, row.line, "closes_at", "closes at or before it opens")
        )
        return None
    return found[0], found[1]


def _schedule_v3(row: Row, data: Dataset) -> None:
    freq = row.get("freq").upper()
    byday = row.get("byday").upper()
    times = _times(row, data)
    if times is None or not byday or freq not in ("", "WEEKLY"):
        data.skipped += 1
        return
    days: list[int] = []
    for part in byday.replace(" ", "").split(","):
        day = RRULE_DAYS.get(part[-2:])
        if day is None:
            data.problems.append(
                Problem(row.file, row.line, "byday", f"“{part}” is not a day such as MO or TU")
            )
            return
        days.append(day)
    _openings(row, data, days, times)


def _schedule_v2(row: Row, data: Dataset) -> None:
    text = row.get("weekday")
    day = _weekday(text)
    if day is None:
        if text:
            data.problems.append(
                Problem(row.file, row.line, "weekday", f"“{text}” is not a weekday (1-7 or a name)")
            )
        return
    times = _times(row, data)
    if times is None:
        data.skipped += 1
        return
    _openings(row, data, [day], times)


def _weekday(text: str) -> int | None:
    names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    lowered = text.strip().lower()
    if lowered.isdigit() and 1 <= int(lowered) <= 7:
        return int(lowered)
    for number, name in enumerate(names, start=1):
        if lowered and name.startswith(lowered[:3]) and len(lowered) >= 2:
            return number
    return None


def _openings(row: Row, data: Dataset, days: Iterable[int], times: tuple[dt.time, dt.time]) -> None:
    service = row.opt("service_id")
    location = row.opt("location_id")
    at = row.opt("service_at_location_id")
    if at is not None:
        link = data.service_at_locations.get(at)
        if link is None:
            data.problems.append(
                Problem(row.file, row.line, "service_at_location_id", f"“{at}” is not in the data")
            )
            return
        service, location = link.get("service_id"), link.get("location_id")
    if service is None and location is None:
        data.problems.append(
            Problem(
                row.file,
                row.line,
                "service_id",
                "a schedule needs a service_id, location_id or service_at_location_id",
            )
        )
        return
    for day in days:
        data.openings.append(
            Opening(
                row.get("id"), service, location, day, times[0], times[1], row.opt("description")
            )
        )


# --- reading JSON ----------------------------------------------------------------------------


def read_json(text: str, file: str = "services.json") -> Dataset:
    """HSDS 3.0 service objects: a list of them, one of them, or a page
    ``{"contents": [...]}`` as the HSDS API returns."""
    data = Dataset(files=[file])
    try:
        loaded = json.loads(text)
    except json.JSONDecodeError as exc:
        data.problems.append(Problem(file, exc.lineno, "JSON", f"not valid JSON: {exc.msg}"))
        return data
    if isinstance(loaded, dict) and isinstance(loaded.get("contents"), list):
        loaded = loaded["contents"]
    items = loaded if isinstance(loaded, list) else [loaded]
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            data.problems.append(Problem(file, number, "service", "not a service object"))
            continue
        _flatten_service(item, number, file, data)
    return data


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def _check(
    obj: dict[str, Any], path: str, need: Iterable[str], at: tuple[str, int], data: Dataset
) -> bool:
    ok = True
    for name in need:
        if not _text(obj.get(name)).strip():
            data.problems.append(Problem(at[0], at[1], f"{path}.{name}", "required but empty"))
            ok = False
    return ok


def _flatten_service(item: dict[str, Any], number: int, file: str, data: Dataset) -> None:
    at = (file, number)
    path = f"service[{number}]"
    _check(item, path, ("id", "name", "status"), at, data)
    org = item.get("organization")
    org_id = _text(item.get("organization_id")) or (
        _text(org.get("id")) if isinstance(org, dict) else ""
    )
    if isinstance(org, dict):
        _check(org, f"{path}.organization", ("id", "name", "description"), at, data)
        data.organizations[_text(org.get("id"))] = _row(file, number, org)
    elif not org_id:
        data.problems.append(Problem(file, number, f"{path}.organization", "required but empty"))
    service_id = _text(item.get("id"))
    values = {k: _text(v) for k, v in item.items() if not isinstance(v, list | dict)}
    values["organization_id"] = org_id
    data.services[service_id] = Row(file, number, values)
    terms = data.terms.setdefault(service_id, [])
    for attribute in item.get("attributes") or []:
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if isinstance(term, dict):
            terms.append((_text(term.get("code") or term.get("id")), _text(term.get("name"))))
    for i, phone in enumerate(item.get("phones") or [], start=1):
        if _check(phone, f"{path}.phones[{i}]", ("id", "number"), at, data):
            data.phones[_text(phone["id"])] = _row(file, number, phone, service_id=service_id)
    for i, language in enumerate(item.get("languages") or [], start=1):
        if _check(language, f"{path}.languages[{i}]", ("id",), at, data):
            data.languages[_text(language["id"])] = _row(
                file, number, language, service_id=service_id
            )
    for i, link in enumerate(item.get("service_at_locations") or [], start=1):
        where = f"{path}.service_at_locations[{i}]"
        location = link.get("location") if isinstance(link, dict) else None
        if not isinstance(link, dict) or not _check(link, where, ("id",), at, data):
            continue
        if not isinstance(location, dict):
            data.problems.append(Problem(file, number, f"{where}.location", "required but empty"))
            continue
        if not _check(location, f"{where}.location", ("id", "location_type"), at, data):
            continue
        loc_id = _text(location["id"])
        data.locations[loc_id] = _row(file, number, location, organization_id=org_id)
        data.service_at_locations[_text(link["id"])] = Row(
            file, number, {"id": _text(link["id"]), "service_id": service_id, "location_id": loc_id}
        )
        for k, address in enumerate(location.get("addresses") or [], start=1):
            if not isinstance(address, dict) or not _check(
                address, f"{where}.location.addresses[{k}]", REQUIRED["addresses.csv"], at, data
            ):
                continue
            if address.get("address_type") == "physical":
                data.addresses[loc_id] = _row(file, number, address)
        for j, schedule in enumerate(link.get("schedules") or [], start=1):
            row = _row(file, number, schedule, service_id=service_id, location_id=loc_id)
            _json_schedule(row, f"{where}.schedules[{j}]", data)
    for i, schedule in enumerate(item.get("schedules") or [], start=1):
        row = _row(file, number, schedule, service_id=service_id)
        _json_schedule(row, f"{path}.schedules[{i}]", data)


def _json_schedule(row: Row, where: str, data: Dataset) -> None:
    before = len(data.problems)
    if not row.get("id"):
        data.problems.append(Problem(row.file, row.line, f"{where}.id", "required but empty"))
        return
    _schedule_v3(row, data)
    for problem in data.problems[before:]:
        data.problems[data.problems.index(problem)] = Problem(
            problem.file, problem.line, f"{where}.{problem.field}", problem.message
        )


def _row(file: str, line: int, obj: dict[str, Any], **extra: str) -> Row:
    values = {k: _text(v) for k, v in obj.items() if not isinstance(v, list | dict)}
    for key, value in extra.items():
        values.setdefault(key, value)
        if not values[key]:
            values[key] = value
    return Row(file, line, values)


# --- where the data comes from ---------------------------------------------------------------


def read_files(files: Mapping[str, bytes]) -> Dataset:
    """Uploaded or found files: CSV files, a zip of them, or one JSON file."""
    texts: dict[str, str] = {}
    jsons: list[tuple[str, str]] = []
    for name, body in files.items():
        lowered = name.lower()
        if lowered.endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    for member in archive.namelist():
                        if member.lower().endswith(".csv"):
                            texts[member] = _decode(archive.read(member))
            except zipfile.BadZipFile:
                broken = Dataset()
                broken.problems.append(Problem(name, 0, "file", "not a readable zip file"))
                return broken
        elif lowered.endswith(".json") and not lowered.endswith("datapackage.json"):
            jsons.append((name.rsplit("/", 1)[-1], _decode(body)))
        else:
            texts[name] = _decode(body)
    if jsons and texts:
        mixed = Dataset()
        mixed.problems.append(
            Problem(jsons[0][0], 0, "file", "give either HSDS CSV files or one JSON file, not both")
        )
        return mixed
    if jsons:
        if len(jsons) > 1:
            many = Dataset()
            many.problems.append(Problem(jsons[1][0], 0, "file", "give one JSON file at a time"))
            return many
        return read_json(jsons[0][1], jsons[0][0])
    return read_csv_files(texts)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return body.decode("latin-1")


def read_path(path: Path) -> Dataset:
    """A folder of HSDS CSV files, a zip of them, or an HSDS JSON file."""
    if path.is_dir():
        found = {
            p.name: p.read_bytes()
            for p in sorted(path.iterdir())
            if p.suffix.lower() in (".csv", ".json") and p.name != "datapackage.json"
        }
        return read_files(found)
    if not path.exists():
        missing = Dataset()
        missing.problems.append(Problem(str(path), 0, "file", "no such file or folder"))
        return missing
    return read_files({path.name: path.read_bytes()})
