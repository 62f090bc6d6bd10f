"""The FHIR resource types Carebridge serves, and what each one allows. The routes, the
CapabilityStatement and the access checks are all made from this one table, so what
``metadata`` says is what the server does."""

from __future__ import annotations

from dataclasses import dataclass

from carebridge.security.roles import Permission


@dataclass(frozen=True)
class ResourceDef:
    """``read``: the permission to read or search it (every interaction here is a read for
    now: read, vread, history-instance); ``profile``: the profile its resources claim."""

    type: str
    read: Permission
    profile: str | None = None
    interactions: tuple[str, ...] = ("read", "vread", "history-instance")


US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition/"

REGISTRY: dict[str, ResourceDef] = {
    d.type: d
    for d in (ResourceDef("Patient", Permission.PATIENT_READ, US_CORE + "us-core-patient"),)
}
