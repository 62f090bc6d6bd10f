"""Patient and RelatedPerson <-> FHIR R4 (US Core 3.1.1 to 6.1).

Rendering works on ORM rows and drops every element without a value, so the result is
minimal and valid (no empty strings, lists or objects); ``meta.versionId``/``lastUpdated``
are the store's to add. Reading builds the schemas the UI and JSON API use, so a FHIR write
is validated like any other: a value the chart requires and cannot get is a 422 naming the
FHIR path; an optional value the chart cannot keep (a ``555`` phone, an unknown extension, a
maiden name) is dropped and named in a warning. The caller keeps the received original, so
nothing a sender gave is lost.

Patient fields with no FHIR home, left out: ``pronouns`` (R4 and US Core 6.1 have no element
or extension for them; individual-pronouns is R5); ``preferred_contact_method`` and
``preferred_contact_times`` (no Patient element; telecom ``rank`` orders the phones);
``alerts`` (free-text warnings are Flag resources); ``allergy_status`` (served as an
AllergyIntolerance); ``primary_coordinator_id`` (a Carebridge user, served through CareTeam);
``duplicate_override_reason`` (registration audit); inactive phones (kept for history, but
ContactPoint would need when they ended); ``link`` of type ``replaces`` on a surviving chart
(the merged chart carries ``replaced-by``; the reverse needs a query). There is no birth sex
column, so ``us-core-birthsex`` is not rendered and is a warning on the way in. RelatedPerson
``note`` is left out: R4 RelatedPerson has no note element.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from pydantic import ValidationError

from carebridge.fhir.errors import FhirError
from carebridge.fhir.mappers.elements import (
    META_KEYS,
    Reading,
    boolean_at,
    coding_of,
    codings_in,
    full_date_at,
    items_at,
    object_at,
    prune,
    strings_at,
    text_at,
)
from carebridge.patients.codes import ETHNICITIES, LANGUAGES, RACES, RELATIONSHIPS
from carebridge.patients.models import Patient, RelatedPerson
from carebridge.patients.schemas import (
    IdentifierIn,
    PatientCreate,
    PatientUpdate,
    RelatedPersonCreate,
    RelatedPersonUpdate,
)
from carebridge.patients.service import MRN_SYSTEM

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"
PATIENT_PROFILE = US_CORE + "us-core-patient"
RELATED_PERSON_PROFILE = US_CORE + "us-core-relatedperson"
RACE_URL = US_CORE + "us-core-race"
ETHNICITY_URL = US_CORE + "us-core-ethnicity"
BIRTHSEX_URL = US_CORE + "us-core-birthsex"
GENDER_IDENTITY_URL = US_CORE + "us-core-genderIdentity"
INTERPRETER_URL = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"

CDC_RACE_ETHNICITY = "urn:oid:2.16.840.1.113883.6.238"
NULL_FLAVOR = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CONTACT_ROLE = "http://terminology.hl7.org/CodeSystem/v2-0131"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ROLE_CLASS = "http://terminology.hl7.org/CodeSystem/v3-RoleClass"
SNOMED = "http://snomed.info/sct"
BCP47 = "urn:ietf:bcp:47"
# Neither v2-0131 nor v3 RoleCode has a code for a HIPAA personal representative.
CAREBRIDGE_ROLE = "urn:carebridge:related-person-role"
PERSONAL_REPRESENTATIVE = "personal-representative"

# v2-0203 displays of the identifier types we keep.
IDENTIFIER_DISPLAYS = {
    "MR": "Medical record number",
    "MB": "Member Number",
    "SS": "Social Security number",
    "DL": "Driver's license number",
    "PPN": "Passport number",
}
# Identifier systems that say their type when a sender leaves ``type`` out.
SYSTEM_TYPES = {
    "http://hl7.org/fhir/sid/us-ssn": "SS",
    "http://hl7.org/fhir/sid/us-mbi": "MB",
    "http://hl7.org/fhir/sid/us-medicare": "MB",
}
NULL_FLAVOR_CODES = frozenset({"ASKU", "UNK", "OTH"})

# Gender identity (HL7 gender-identity value set, extensible): SNOMED CT where it has a
# concept, v3 NullFlavor for "other" and "asked but declined".
GENDER_IDENTITIES: dict[str, tuple[str, str, str]] = {
    "female": (SNOMED, "446141000124107", "Female gender identity"),
    "male": (SNOMED, "446151000124109", "Male gender identity"),
    "non-binary": (SNOMED, "33791000087105", "Non-binary gender identity"),
    "transgender-female": (SNOMED, "407376001", "Male-to-female transsexual"),
    "transgender-male": (SNOMED, "407377005", "Female-to-male transsexual"),
    "other": (NULL_FLAVOR, "OTH", "other"),
    "asked-declined": (NULL_FLAVOR, "ASKU", "asked but declined"),
}
GENDER_IDENTITY_CODES = {(s, c): ours for ours, (s, c, _d) in GENDER_IDENTITIES.items()}


# --- rendering ----------------------------------------------------------------------------


def _race_coding(code: str, table: dict[str, str]) -> dict[str, Any]:
    system = NULL_FLAVOR if code in NULL_FLAVOR_CODES else CDC_RACE_ETHNICITY
    return coding_of(system, code, table.get(code))


def _omb_extension(url: str, codes: list[str], table: dict[str, str]) -> dict[str, Any] | None:
    if not codes:
        return None
    parts: list[dict[str, Any]] = [
        {"url": "ombCategory", "valueCoding": _race_coding(code, table)} for code in codes
    ]
    # ``text`` is required by both US Core extensions.
    parts.append({"url": "text", "valueString": ", ".join(table.get(c, c) for c in codes)})
    return {"url": url, "extension": parts}


def _patient_extensions(patient: Patient) -> list[dict[str, Any] | None]:
    identity = GENDER_IDENTITIES.get(patient.gender_identity or "")
    return [
        _omb_extension(RACE_URL, [c for c in patient.race if c in RACES], RACES),
        _omb_extension(
            ETHNICITY_URL, [patient.ethnicity] if patient.ethnicity else [], ETHNICITIES
        ),
        None
        if identity is None
        else {
            "url": GENDER_IDENTITY_URL,
            "valueCodeableConcept": {"coding": [coding_of(*identity)], "text": identity[2]},
        },
        {"url": INTERPRETER_URL, "valueBoolean": True} if patient.interpreter_needed else None,
    ]


def _identifier_type(code: str) -> dict[str, Any]:
    display = IDENTIFIER_DISPLAYS.get(code)
    return {"coding": [coding_of(IDENTIFIER_TYPE, code, display)], "text": display}


def _patient_identifiers(patient: Patient, mrn_system: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {
            "use": "usual",
            "type": _identifier_type("MR"),
            "system": mrn_system,
            "value": patient.mrn,
        }
    ]
    for ident in patient.identifiers:
        found.append(
            {
                "use": "old" if ident.status != "active" else None,
                "type": _identifier_type(ident.type),
                # MRNs of charts merged into this one carry our own system.
                "system": mrn_system if ident.system == MRN_SYSTEM else ident.system,
                "value": ident.value,
                "assigner": {"display": ident.assigner} if ident.assigner else None,
            }
        )
    return found


def _patient_names(patient: Patient) -> list[dict[str, Any]]:
    names: list[dict[str, Any]] = [
        {
            "use": "official",
            "family": patient.family_name,
            "given": patient.given_names.split(),
        }
    ]
    if patient.preferred_name:
        names.append({"use": "usual", "given": [patient.preferred_name]})
    return names


def _patient_telecoms(patient: Patient) -> list[dict[str, Any]]:
    points = [
        {"system": t.system, "value": t.value, "use": t.use, "rank": t.rank}
        for t in patient.telecoms
        if t.status == "active"
    ]
    if patient.email and all(p["value"] != patient.email for p in points):
        points.append({"system": "email", "value": patient.email})
    return points


def _patient_address(patient: Patient) -> dict[str, Any] | None:
    lines = [line for line in (patient.address_line1, patient.address_line2) if line]
    if not (lines or patient.city or patient.state or patient.postal_code):
        return None  # the default country alone is not an address
    return {
        "use": "home",
        "line": lines,
        "city": patient.city,
        "state": patient.state,
        "postalCode": patient.postal_code,
        "country": patient.country,
    }


def _language(code: str) -> dict[str, Any]:
    display = LANGUAGES.get(code)
    return {"coding": [coding_of(BCP47, code, display)], "text": display}


def patient_to_fhir(patient: Patient, *, base_mrn_system: str = MRN_SYSTEM) -> dict[str, Any]:
    """A Patient row (telecoms and identifiers loaded) as a US Core Patient. Our MRN comes
    first, typed MR under ``base_mrn_system``; a merged chart is inactive and points at its
    survivor with ``link[replaced-by]``."""
    deceased: dict[str, Any] = {}
    if patient.deceased_date is not None:
        deceased["deceasedDateTime"] = patient.deceased_date.isoformat()
    elif patient.status == "deceased":
        deceased["deceasedBoolean"] = True
    resource = {
        "resourceType": "Patient",
        "id": str(patient.id),
        "meta": {"profile": [PATIENT_PROFILE]},
        "extension": _patient_extensions(patient),
        "identifier": _patient_identifiers(patient, base_mrn_system),
        "active": patient.status in ("active", "deceased"),
        "name": _patient_names(patient),
        "telecom": _patient_telecoms(patient),
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
        **deceased,
        "address": [_patient_address(patient)],
        "communication": [{"language": _language(patient.language), "preferred": True}]
        if patient.language
        else None,
        "link": [
            {"other": {"reference": f"Patient/{patient.merged_into_id}"}, "type": "replaced-by"}
        ]
        if patient.merged_into_id is not None
        else None,
    }
    return cast(dict[str, Any], prune(resource))


def _relationships(person: RelatedPerson) -> list[dict[str, Any]]:
    code = person.relationship_code
    # CAREGIVER is a v3 RoleClass code; the personal relationships are v3 RoleCode.
    system = ROLE_CLASS if code == "CAREGIVER" else ROLE_CODE
    found: list[dict[str, Any]] = [{"coding": [coding_of(system, code, RELATIONSHIPS.get(code))]}]
    if person.emergency_contact:
        found.append({"coding": [coding_of(CONTACT_ROLE, "C", "Emergency Contact")]})
    if person.caregiver and code != "CAREGIVER":
        found.append({"coding": [coding_of(ROLE_CLASS, "CAREGIVER", "Caregiver")]})
    if person.personal_representative:
        found.append(
            {
                "coding": [
                    coding_of(CAREBRIDGE_ROLE, PERSONAL_REPRESENTATIVE, "Personal representative")
                ],
                "text": "Personal representative",
            }
        )
    return found


def related_person_to_fhir(rp: RelatedPerson) -> dict[str, Any]:
    """A RelatedPerson row as a US Core RelatedPerson: the relationship first, then the
    roles (emergency contact, caregiver, personal representative) as further codings."""
    resource = {
        "resourceType": "RelatedPerson",
        "id": str(rp.id),
        "meta": {"profile": [RELATED_PERSON_PROFILE]},
        "active": rp.status == "active",
        "patient": {"reference": f"Patient/{rp.patient_id}"},
        "relationship": _relationships(rp),
        "name": [{"text": rp.name}],
        "telecom": [
            {"system": "phone", "value": rp.phone} if rp.phone else None,
            {"system": "email", "value": rp.email} if rp.email else None,
        ],
        "address": [{"text": rp.address}] if rp.address else None,
    }
    return cast(dict[str, Any], prune(resource))


# --- reading: Patient --------------------------------------------------------------------

PATIENT_REQUIRED = frozenset({"family_name", "given_names", "birth_date", "sex", "version"})
# Where each required value comes from, for the error when it is missing.
PATIENT_PATHS = {
    "family_name": "Patient.name.family",
    "given_names": "Patient.name.given",
    "birth_date": "Patient.birthDate",
    "sex": "Patient.gender",
}
MAX_PHONES = 5
MAX_IDENTIFIERS = 10


def _read_names(reading: Reading, resource: Mapping[str, Any]) -> None:
    names = items_at(resource, "name", "Patient")
    uses = [(text_at(name, "use", path) or "", path, name) for path, name in names]
    official = next((n for n in uses if n[0] == "official"), None) or next(
        (n for n in uses if n[0] in ("", "usual") and n[2].get("family")), None
    )
    usual = next((n for n in uses if n[0] == "usual" and n is not official), None)
    for use, path, name in uses:
        if official is not None and name is official[2]:
            reading.put("family_name", text_at(name, "family", path), f"{path}.family")
            reading.put("given_names", " ".join(strings_at(name, "given", path)), f"{path}.given")
            reading.leftovers(name, path, {"use", "family", "given", "text"})
        elif usual is not None and name is usual[2]:
            preferred = " ".join(strings_at(name, "given", path)) or text_at(name, "text", path)
            reading.put("preferred_name", preferred, f"{path}.given")
            reading.leftovers(name, path, {"use", "given", "text", "family"})
        else:
            reading.warn(path, f"{use or 'unlabelled'} name not kept (the chart has one name)")


def _read_telecoms(reading: Reading, resource: Mapping[str, Any]) -> None:
    points = items_at(resource, "telecom", "Patient")

    def rank(item: tuple[str, Mapping[str, Any]]) -> int:
        value = item[1].get("rank")
        return value if isinstance(value, int) and not isinstance(value, bool) else 1_000_000

    seen: set[str] = set()
    for path, point in sorted(points, key=rank):
        system, value = text_at(point, "system", path), text_at(point, "value", path)
        use = text_at(point, "use", path)
        reading.leftovers(point, path, {"system", "value", "use", "rank"})
        if not value or value in seen:
            continue
        seen.add(value)
        if system == "phone" and use != "old":
            if len(reading.values.get("phones", [])) >= MAX_PHONES:
                reading.warn(path, f"only {MAX_PHONES} phone numbers are kept")
                continue
            if use not in (None, "mobile", "home", "work"):
                reading.warn(f"{path}.use", f"use {use!r} not kept; recorded as mobile")
            kept = use if use in ("mobile", "home", "work") else "mobile"
            reading.append("phones", {"number": value, "use": kept}, path)
        elif system == "email" and use != "old" and "email" not in reading.values:
            reading.put("email", value, path)
        else:
            reading.warn(
                path, f"{system or 'contact point'} {value!r} ({use or 'no use'}) not kept"
            )


def _read_address(reading: Reading, resource: Mapping[str, Any]) -> None:
    chosen = False
    for path, address in items_at(resource, "address", "Patient"):
        if address.get("use") == "old":
            reading.warn(path, "old address not kept")
            continue
        if chosen:
            reading.warn(path, "only one address is kept")
            continue
        chosen = True
        lines = strings_at(address, "line", path)
        if lines:
            reading.put("address_line1", lines[0], f"{path}.line[0]")
        if len(lines) > 1:
            reading.put("address_line2", ", ".join(lines[1:]), f"{path}.line[1]")
        reading.put("city", text_at(address, "city", path), f"{path}.city")
        reading.put("state", text_at(address, "state", path), f"{path}.state")
        reading.put("postal_code", text_at(address, "postalCode", path), f"{path}.postalCode")
        country = text_at(address, "country", path)
        if country is not None:
            country = {"USA": "US", "UNITED STATES": "US"}.get(country.upper(), country)
            reading.put("country", country, f"{path}.country")
        reading.leftovers(
            address, path, {"use", "type", "line", "city", "state", "postalCode", "country"}
        )
        if not lines and address.get("text"):
            reading.warn(f"{path}.text", "an address given only as text is not kept")


def _read_language(reading: Reading, resource: Mapping[str, Any]) -> None:
    items = items_at(resource, "communication", "Patient")
    chosen = next((item for item in items if item[1].get("preferred") is True), None)
    chosen = chosen or (items[0] if items else None)
    for path, item in items:
        if chosen is None or item is not chosen[1]:
            reading.warn(path, "only the preferred language is kept")
            continue
        concept = object_at(item, "language", path)
        codes = [code for _system, code in codings_in(concept, f"{path}.language")]
        if not codes:
            reading.warn(f"{path}.language", "a language without a code is not kept")
            continue
        code = codes[0]
        primary = code.split("-")[0].lower()
        # Our language list is by primary subtag ("en"), which scheduling matches on.
        reading.put("language", primary if primary in LANGUAGES else code, f"{path}.language")
        reading.leftovers(item, path, {"language", "preferred"})


def _omb_codes(ext: Mapping[str, Any], path: str, reading: Reading) -> list[tuple[str, str]]:
    """(path, code) of each OMB category of a race or ethnicity extension."""
    codes = []
    for where, part in items_at(ext, "extension", path):
        url = part.get("url")
        if url == "ombCategory":
            coding = object_at(part, "valueCoding", where)
            code = text_at(coding, "code", f"{where}.valueCoding") if coding else None
            if code:
                codes.append((where, code))
        elif url != "text":  # text is derived from the codes again when rendering
            reading.warn(where, f"{url} not kept (only OMB categories are)")
    return codes


def _read_extensions(reading: Reading, resource: Mapping[str, Any]) -> None:
    for path, ext in items_at(resource, "extension", "Patient"):
        url = ext.get("url")
        if url == RACE_URL:
            for where, code in _omb_codes(ext, path, reading):
                reading.append("race", code, where)
        elif url == ETHNICITY_URL:
            codes = _omb_codes(ext, path, reading)
            for where, _code in codes[1:]:
                reading.warn(where, "only one ethnicity category is kept")
            if codes:
                reading.put("ethnicity", codes[0][1], codes[0][0])
        elif url == GENDER_IDENTITY_URL:
            codings = codings_in(object_at(ext, "valueCodeableConcept", path), path)
            found = [GENDER_IDENTITY_CODES[c] for c in codings if c in GENDER_IDENTITY_CODES]
            if found:
                reading.put("gender_identity", found[0], path)
            else:
                reading.warn(path, "gender identity code not known to Carebridge; not kept")
        elif url == INTERPRETER_URL:
            needed = boolean_at(ext, "valueBoolean", path)
            reading.put("interpreter_needed", bool(needed), path)
        elif url == BIRTHSEX_URL:
            reading.warn(path, "birth sex not kept (the chart records administrative gender)")
        else:
            reading.warn(path, f"extension {url} not kept")


def _identifier_code(ident: Mapping[str, Any], path: str, system: str) -> str | None:
    codes = [
        code
        for coding_system, code in codings_in(object_at(ident, "type", path), f"{path}.type")
        if coding_system == IDENTIFIER_TYPE and code in IDENTIFIER_DISPLAYS
    ]
    return codes[0] if codes else SYSTEM_TYPES.get(system)


def _read_identifiers(reading: Reading, resource: Mapping[str, Any], mrn_system: str) -> None:
    seen: set[tuple[str, str]] = set()
    for path, ident in items_at(resource, "identifier", "Patient"):
        system, value = text_at(ident, "system", path), text_at(ident, "value", path)
        if not system or not value:
            reading.warn(path, "an identifier without system and value is not kept")
            continue
        if (system, value) in seen:
            continue
        seen.add((system, value))
        if system == mrn_system and "mrn" not in reading.values:
            reading.put("mrn", value, f"{path}.value")
            continue
        code = _identifier_code(ident, path, system)
        if code is None:
            reading.warn(path, f"identifier {system}|{value} has no type Carebridge keeps")
            continue
        if len(reading.values.get("identifiers", [])) >= MAX_IDENTIFIERS:
            reading.warn(path, f"only {MAX_IDENTIFIERS} identifiers are kept")
            continue
        assigner = object_at(ident, "assigner", path)
        display = text_at(assigner, "display", f"{path}.assigner") if assigner else None
        reading.append(
            "identifiers",
            {"type": code, "system": system, "value": value, "assigner": display},
            path,
        )
        reading.leftovers(ident, path, {"use", "type", "system", "value", "assigner"})


def _read_patient(resource: Mapping[str, Any], mrn_system: str) -> Reading:
    reading = Reading("Patient", resource)
    reading.paths.update(PATIENT_PATHS)
    _read_extensions(reading, resource)
    _read_identifiers(reading, resource, mrn_system)
    _read_names(reading, resource)
    _read_telecoms(reading, resource)
    _read_address(reading, resource)
    _read_language(reading, resource)
    gender = text_at(resource, "gender", "Patient")
    if gender is not None:
        reading.put("sex", gender, "Patient.gender")
    born = text_at(resource, "birthDate", "Patient")
    if born is not None:
        birth_date = full_date_at(born, "Patient.birthDate")
        if birth_date is None:
            raise FhirError(
                422,
                "value",
                f"Patient.birthDate: {born!r} is not a full date (YYYY-MM-DD); the chart "
                "needs the day of birth",
                expression=["Patient.birthDate"],
            )
        reading.put("birth_date", birth_date, "Patient.birthDate")
    active = boolean_at(resource, "active", "Patient")
    status = "inactive" if active is False else "active"
    died = text_at(resource, "deceasedDateTime", "Patient")
    died_on = full_date_at(died, "Patient.deceasedDateTime")
    if died_on is not None:
        reading.put("status", "deceased", "Patient.deceasedDateTime")
        reading.put("deceased_date", died_on, "Patient.deceasedDateTime")
    else:
        reading.put("status", status, "Patient.active")
        if died is not None:
            reading.warn("Patient.deceasedDateTime", f"{died!r} is not a full date; not kept")
        if boolean_at(resource, "deceasedBoolean", "Patient"):
            reading.warn("Patient.deceasedBoolean", "a death without a date is not kept")
    reading.leftovers(
        resource,
        "Patient",
        set(META_KEYS)
        | {"extension", "identifier", "name", "telecom", "address", "communication"}
        | {"gender", "birthDate", "active", "deceasedDateTime", "deceasedBoolean"},
    )
    return reading


CREATE_ONLY = ("identifiers", "mrn", "country")
UPDATE_ONLY = ("status", "deceased_date")
# What a PUT of a Patient replaces: every field the mapping covers, the others untouched.
UPDATE_DEFAULTS: dict[str, Any] = {
    "preferred_name": None,
    "gender_identity": None,
    "language": "en",
    "interpreter_needed": False,
    "race": [],
    "ethnicity": None,
    "email": None,
    "phones": [],
    "address_line1": None,
    "address_line2": None,
    "city": None,
    "state": None,
    "postal_code": None,
    "deceased_date": None,
}


def patient_from_fhir(
    resource: Mapping[str, Any], *, mrn_system: str = MRN_SYSTEM
) -> tuple[PatientCreate, list[str]]:
    """A FHIR Patient as a registration, and a warning for each element the chart cannot keep.
    An identifier under ``mrn_system`` becomes the chart's MRN. Registration starts a chart
    active and alive, so a status or death date is a warning here: apply it afterwards with
    ``patient_update_from_fhir``. Raises FhirError 422 when a required value (family and given
    name, full birth date, gender) is missing or invalid, naming its FHIR path."""
    reading = _read_patient(resource, mrn_system)
    status = reading.values.pop("status")
    if reading.values.pop("deceased_date", None) is not None:
        reading.warn("Patient.deceasedDateTime", "a new chart starts alive; apply it by update")
    elif status != "active":
        reading.warn("Patient.active", "a new chart starts active; apply it by update")
    reading.values = {k: v for k, v in reading.values.items() if v is not None}
    return reading.validate(PatientCreate, PATIENT_REQUIRED), reading.warnings


def patient_update_from_fhir(
    resource: Mapping[str, Any], *, version: int, mrn_system: str = MRN_SYSTEM
) -> tuple[PatientUpdate, list[IdentifierIn], list[str]]:
    """A FHIR Patient as the update of a PUT: every mapped field is set, so an element the
    client left out is cleared; fields with no FHIR home are untouched. Identifiers cannot
    change through an update: they are returned for the caller to add the new ones with
    ``patients.service.add_identifier``. The MRN and country are not changed by an update."""
    reading = _read_patient(resource, mrn_system)
    reading.require({field: reading.paths[field] for field in PATIENT_PATHS})
    identifiers = reading.values.pop("identifiers", [])
    identifier_paths = reading.item_paths.pop("identifiers", [])
    for field in CREATE_ONLY:
        reading.values.pop(field, None)
    reading.values = {
        **UPDATE_DEFAULTS,
        **{k: v for k, v in reading.values.items() if v is not None},
        "version": version,
    }
    update = reading.validate(PatientUpdate, PATIENT_REQUIRED)
    kept = []
    for path, ident in zip(identifier_paths, identifiers, strict=True):
        try:
            kept.append(IdentifierIn.model_validate(ident))
        except ValidationError as exc:
            reading.warn(path, f"{exc.errors()[0]['msg']}; not kept")
    return update, kept, reading.warnings


# --- reading: RelatedPerson --------------------------------------------------------------

RELATED_REQUIRED = frozenset({"name", "relationship", "version"})
RELATED_KEYS = {"patient", "relationship", "name", "telecom", "address", "active"}


def _read_related(resource: Mapping[str, Any]) -> Reading:
    reading = Reading("RelatedPerson", resource)
    reading.paths.update(
        {"name": "RelatedPerson.name", "relationship": "RelatedPerson.relationship"}
    )
    names = items_at(resource, "name", "RelatedPerson")
    for index, (path, name) in enumerate(names):
        if index:
            reading.warn(path, "only one name is kept")
            continue
        parts = [*strings_at(name, "given", path), text_at(name, "family", path) or ""]
        reading.put("name", text_at(name, "text", path) or " ".join(p for p in parts if p), path)
        reading.leftovers(name, path, {"use", "text", "given", "family"})
    for path, concept in items_at(resource, "relationship", "RelatedPerson"):
        for system, code in codings_in(concept, path):
            if system == ROLE_CLASS and code == "CAREGIVER":
                reading.put("caregiver", True, path)
            elif system == CONTACT_ROLE and code in ("C", "EP"):
                reading.put("emergency_contact", True, path)
            elif system == CAREBRIDGE_ROLE and code == PERSONAL_REPRESENTATIVE:
                reading.put("personal_representative", True, path)
            elif (
                system == ROLE_CODE
                and code in RELATIONSHIPS
                and "relationship" not in reading.values
            ):
                reading.put("relationship", code, path)
            else:
                reading.warn(path, f"relationship {system}|{code} not kept")
    if "relationship" not in reading.values and reading.values.get("caregiver"):
        reading.put("relationship", "CAREGIVER", reading.paths["caregiver"])
    for path, point in items_at(resource, "telecom", "RelatedPerson"):
        channel, value = text_at(point, "system", path), text_at(point, "value", path)
        kind = {"phone": "phone", "email": "email"}.get(channel or "")
        if kind is None or kind in reading.values or not value:
            reading.warn(path, f"{channel or 'contact point'} {value!r} not kept")
        else:
            reading.put(kind, value, path)
        reading.leftovers(point, path, {"system", "value", "use", "rank"})
    for index, (path, address) in enumerate(items_at(resource, "address", "RelatedPerson")):
        if index:
            reading.warn(path, "only one address is kept")
            continue
        place = ", ".join(
            p
            for p in [
                *strings_at(address, "line", path),
                text_at(address, "city", path),
                " ".join(
                    p
                    for p in (text_at(address, "state", path), text_at(address, "postalCode", path))
                    if p
                ),
            ]
            if p
        )
        reading.put("address", text_at(address, "text", path) or place or None, path)
    active = boolean_at(resource, "active", "RelatedPerson")
    reading.put("status", "inactive" if active is False else "active", "RelatedPerson.active")
    reading.leftovers(resource, "RelatedPerson", set(META_KEYS) | RELATED_KEYS)
    return reading


def related_person_from_fhir(
    resource: Mapping[str, Any],
) -> tuple[RelatedPersonCreate, list[str]]:
    """A FHIR RelatedPerson as a RelatedPersonCreate and the warnings; the patient is the
    caller's to resolve (``writers.common.patient_of``). A relationship is required:
    a v3 RoleCode personal relationship, or the caregiver role alone."""
    reading = _read_related(resource)
    if reading.values.pop("status") != "active":
        reading.warn("RelatedPerson.active", "a new related person starts active")
    reading.values = {k: v for k, v in reading.values.items() if v is not None}
    return reading.validate(RelatedPersonCreate, RELATED_REQUIRED), reading.warnings


def related_person_update_from_fhir(
    resource: Mapping[str, Any], *, version: int
) -> tuple[RelatedPersonUpdate, list[str]]:
    """A FHIR RelatedPerson as the update of a PUT: every mapped field is set (phone, email
    and address cleared, roles off, when left out); ``note`` is untouched."""
    reading = _read_related(resource)
    reading.require({field: reading.paths[field] for field in ("name", "relationship")})
    defaults: dict[str, Any] = {
        "phone": None,
        "email": None,
        "address": None,
        "emergency_contact": False,
        "caregiver": False,
        "personal_representative": False,
    }
    reading.values = {
        **defaults,
        **{k: v for k, v in reading.values.items() if v is not None},
        "version": version,
    }
    return reading.validate(RelatedPersonUpdate, RELATED_REQUIRED), reading.warnings
