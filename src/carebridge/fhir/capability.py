"""The CapabilityStatement at ``/fhir/R4/metadata``, made from the registry."""

from __future__ import annotations

from typing import Any

from carebridge import __version__
from carebridge.fhir import audit_events, slots
from carebridge.fhir.received import RESOURCE_TYPES
from carebridge.fhir.registry import REGISTRY, received_def
from carebridge.settings import Settings

FHIR_VERSION = "4.0.1"
# The date this statement's content last changed in a release (FHIR wants a dateTime).
PUBLISHED = "2026-11-27"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
SYSTEM_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
PATIENT_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"
GROUP_EXPORT = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"


def capability_statement(settings: Settings) -> dict[str, Any]:
    resources = []
    received = (received_def(kind) for kind in sorted(RESOURCE_TYPES) if kind not in REGISTRY)
    definitions = [*REGISTRY.values(), *(d for d in received if d is not None)]
    for definition in sorted(definitions, key=lambda d: d.type):
        entry: dict[str, Any] = {
            "type": definition.type,
            "interaction": [{"code": code} for code in definition.interactions],
            "versioning": "versioned",
            "readHistory": True,
        }
        if definition.profile:
            entry["supportedProfile"] = [definition.profile]
        references = [n for n, p in definition.params.items() if p.type == "reference"]
        entry["searchInclude"] = [f"{definition.type}:{n}" for n in references]
        entry["searchRevInclude"] = [
            f"{other.type}:{name}"
            for other in REGISTRY.values()
            for name, param in other.params.items()
            if param.type == "reference" and definition.type in param.targets
        ]
        entry["searchParam"] = [
            {"name": name, "type": param.type} for name, param in definition.params.items()
        ] + [{"name": "_id", "type": "token"}, {"name": "_lastUpdated", "type": "date"}]
        if definition.type == "Patient":
            entry["operation"] = [
                {"name": "everything", "definition": EVERYTHING},
                {"name": "export", "definition": PATIENT_EXPORT},
            ]
        if definition.type == "Group":
            entry["operation"] = [{"name": "export", "definition": GROUP_EXPORT}]
        resources.append(entry)
    resources.append(
        {
            "type": "AuditEvent",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": param.type} for name, param in audit_events.PARAMS.items()
            ],
        }
    )
    resources.append(
        {
            "type": "Slot",
            "interaction": [{"code": "search-type"}],
            "searchParam": [
                {"name": name, "type": param.type} for name, param in slots.PARAMS.items()
            ],
        }
    )
    resources.sort(key=lambda r: str(r["type"]))
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": PUBLISHED,
        "publisher": settings.clinic_name,
        "kind": "instance",
        "software": {"name": "Carebridge", "version": __version__},
        "implementation": {
            "description": f"Carebridge FHIR API of {settings.clinic_name}",
            "url": fhir_base(settings),
        },
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "description": "Bearer API tokens (Authorization: Bearer <token>), "
                    "optionally narrowed by SMART scopes (patient/, user/, system/; v1 and v2 "
                    "syntax); every access is audited"
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [{"name": "export", "definition": SYSTEM_EXPORT}],
            }
        ],
    }


def fhir_base(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/fhir/R4"
