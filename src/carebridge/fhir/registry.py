"""The FHIR resource types Carebridge serves, what each one allows and what it is searched by.
The routes, the CapabilityStatement, the access checks and the search index are all made from
this one table, so what ``metadata`` says is what the server does."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache

from carebridge.fhir.indexing import SearchParam, received_params
from carebridge.fhir.received import RESOURCE_TYPES
from carebridge.security.roles import Permission


@dataclass(frozen=True)
class ResourceDef:
    """``read``: the permission to read or search it; ``write``: to create or update it
    (None: read-only); ``profile``: the profile its resources claim; ``params``: its search
    parameters (``_id`` and ``_lastUpdated`` come with every type); ``summary``: the elements
    ``_summary=true`` keeps."""

    type: str
    read: Permission
    write: Permission | None = None
    profile: str | None = None
    params: Mapping[str, SearchParam] = field(default_factory=dict)
    summary: tuple[str, ...] = ()

    @property
    def interactions(self) -> tuple[str, ...]:
        reads = ("read", "vread", "history-instance", "search-type")
        return reads if self.write is None else (*reads, "create", "update")


def _params(*params: SearchParam) -> dict[str, SearchParam]:
    return {p.name: p for p in params}


US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

# Shared by Patient and RelatedPerson (R4 defines them alike for both).
_PERSON = (
    SearchParam("identifier", "token", ("identifier",)),
    SearchParam("name", "string", ("name",)),
    SearchParam("birthdate", "date", ("birthDate",)),
    SearchParam("gender", "token", ("gender",)),
    SearchParam("telecom", "token", ("telecom",)),
    SearchParam("phone", "token", ("telecom",), only="phone"),
    SearchParam("email", "token", ("telecom",), only="email"),
    SearchParam("address", "string", ("address",)),
    SearchParam("address-city", "string", ("address.city",)),
    SearchParam("address-state", "string", ("address.state",)),
    SearchParam("address-postalcode", "string", ("address.postalCode",)),
    SearchParam("address-country", "string", ("address.country",)),
    SearchParam("active", "token", ("active",)),
)

PATIENT = ResourceDef(
    "Patient",
    Permission.PATIENT_READ,
    Permission.PATIENT_WRITE,
    US_CORE + "us-core-patient",
    _params(
        *_PERSON,
        SearchParam("family", "string", ("name.family",)),
        SearchParam("given", "string", ("name.given",)),
        SearchParam("language", "token", ("communication.language",)),
        SearchParam(
            "general-practitioner",
            "reference",
            ("generalPractitioner",),
            ("Organization", "Practitioner", "PractitionerRole"),
        ),
        SearchParam("organization", "reference", ("managingOrganization",), ("Organization",)),
        SearchParam("link", "reference", ("link.other",), ("Patient", "RelatedPerson")),
    ),
    summary=(
        "identifier",
        "active",
        "name",
        "telecom",
        "gender",
        "birthDate",
        "deceasedBoolean",
        "deceasedDateTime",
        "address",
        "managingOrganization",
        "link",
    ),
)

RELATED_PERSON = ResourceDef(
    "RelatedPerson",
    Permission.PATIENT_READ,
    Permission.PATIENT_WRITE,
    US_CORE + "us-core-relatedperson",
    _params(
        *_PERSON,
        SearchParam("patient", "reference", ("patient",), ("Patient",)),
        SearchParam("relationship", "token", ("relationship",)),
    ),
    summary=("identifier", "active", "patient", "name", "telecom", "gender", "birthDate"),
)

REGISTRY: dict[str, ResourceDef] = {d.type: d for d in (PATIENT, RELATED_PERSON)}


@cache
def received_def(resource_type: str) -> ResourceDef | None:
    """A type Carebridge does not model, kept as received (read-only, found by patient, date,
    code, status and references); None for a mapped type or one R4 does not define."""
    if resource_type in REGISTRY or resource_type not in RESOURCE_TYPES:
        return None
    return ResourceDef(
        resource_type, Permission.HISTORY_READ, params=received_params(resource_type)
    )


def definition_of(resource_type: str) -> ResourceDef | None:
    return REGISTRY.get(resource_type) or received_def(resource_type)


class _AllParams(Mapping[str, Mapping[str, SearchParam]]):
    """The search parameters of every type served, mapped or received: what chains and
    includes across types look up."""

    def __getitem__(self, resource_type: str) -> Mapping[str, SearchParam]:
        found = definition_of(resource_type)
        if found is None:
            raise KeyError(resource_type)
        return found.params

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(RESOURCE_TYPES))

    def __len__(self) -> int:
        return len(RESOURCE_TYPES)


PARAMS: Mapping[str, Mapping[str, SearchParam]] = _AllParams()
