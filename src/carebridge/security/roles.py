"""Roles and the permissions each one holds. Routes declare a permission, never a role."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    BILLING = "billing"
    AUDITOR = "auditor"


class Permission(StrEnum):
    WORKLIST_VIEW = "worklist:view"
    ACCOUNT_SELF = "account:self"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    AUDIT_EXPORT = "audit:export"
    PATIENT_READ = "patient:read"
    PATIENT_WRITE = "patient:write"
    PATIENT_MERGE = "patient:merge"
    HISTORY_READ = "history:read"
    HISTORY_WRITE = "history:write"
    SCHEDULE_VIEW = "schedule:view"
    SCHEDULE_BOOK = "schedule:book"
    DIRECTORY_MANAGE = "directory:manage"
    FHIR_IMPORT = "fhir:import"
    TASK_WORK = "task:work"
    CAREPLAN_READ = "careplan:read"
    CAREPLAN_WRITE = "careplan:write"
    REFERRAL_READ = "referral:read"
    REFERRAL_WRITE = "referral:write"
    COVERAGE_READ = "coverage:read"
    COVERAGE_WRITE = "coverage:write"
    PRIOR_AUTH_READ = "prior-auth:read"
    PRIOR_AUTH_WRITE = "prior-auth:write"
    BILLING_READ = "billing:read"
    BILLING_WRITE = "billing:write"
    TRANSITION_READ = "transition:read"
    TRANSITION_WRITE = "transition:write"
    HL7_MANAGE = "hl7:manage"
    TEAM_MESSAGES = "messages:team"
    PATIENT_MESSAGE = "communication:send"
    TEMPLATES_MANAGE = "communication:templates"
    EDUCATION_READ = "education:read"
    EDUCATION_WRITE = "education:write"
    SCREENING_READ = "screening:read"
    SCREENING_WRITE = "screening:write"
    RESOURCES_READ = "resources:read"
    RESOURCES_MANAGE = "resources:manage"
    TRANSPORT_READ = "transport:read"
    TRANSPORT_WRITE = "transport:write"
    QUALITY_VIEW = "quality:view"
    REGISTRY_MANAGE = "registries:manage"
    DEIDENTIFIED_EXTRACT = "analytics:extract"
    REPORTS_MANAGE = "reports:manage"


_EVERYONE = {Permission.WORKLIST_VIEW, Permission.ACCOUNT_SELF}
# Minimum necessary: billing sees who the patient is, not their clinical history.
_CHART = {
    Permission.PATIENT_READ,
    Permission.PATIENT_WRITE,
    Permission.HISTORY_READ,
    Permission.HISTORY_WRITE,
    Permission.SCHEDULE_VIEW,
    Permission.SCHEDULE_BOOK,
    Permission.TASK_WORK,
    Permission.CAREPLAN_READ,
    Permission.CAREPLAN_WRITE,
    Permission.REFERRAL_READ,
    Permission.REFERRAL_WRITE,
    Permission.COVERAGE_READ,
    Permission.COVERAGE_WRITE,
    Permission.PRIOR_AUTH_READ,
    Permission.PRIOR_AUTH_WRITE,
    Permission.TRANSITION_READ,
    Permission.TRANSITION_WRITE,
    Permission.TEAM_MESSAGES,
    Permission.PATIENT_MESSAGE,
    Permission.EDUCATION_READ,
    Permission.EDUCATION_WRITE,
    Permission.SCREENING_READ,
    Permission.SCREENING_WRITE,
    Permission.RESOURCES_READ,
    Permission.TRANSPORT_READ,
    Permission.TRANSPORT_WRITE,
    Permission.QUALITY_VIEW,
}
# Claims and patients' billing questions: coordinators explain bills, billing works claims.
_BILLING = {Permission.BILLING_READ, Permission.BILLING_WRITE}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # The interface queue (rejected HL7 messages) is the clinic IT's; coordinators see it too.
    Role.ADMIN: frozenset(
        _EVERYONE
        | {
            Permission.USERS_MANAGE,
            Permission.DIRECTORY_MANAGE,
            Permission.HL7_MANAGE,
            Permission.FHIR_IMPORT,
            Permission.TEMPLATES_MANAGE,
            Permission.RESOURCES_READ,
            Permission.RESOURCES_MANAGE,
        }
    ),
    Role.COORDINATOR: frozenset(
        _EVERYONE
        | _CHART
        | _BILLING
        | {
            Permission.PATIENT_MERGE,
            Permission.DIRECTORY_MANAGE,
            Permission.HL7_MANAGE,
            Permission.TEMPLATES_MANAGE,
            Permission.RESOURCES_MANAGE,
            Permission.REGISTRY_MANAGE,
            Permission.DEIDENTIFIED_EXTRACT,
            Permission.REPORTS_MANAGE,
        }
    ),
    Role.CLINICIAN: frozenset(_EVERYONE | _CHART),
    Role.BILLING: frozenset(
        _EVERYONE
        | {
            Permission.PATIENT_READ,
            Permission.SCHEDULE_VIEW,
            Permission.TASK_WORK,
            Permission.COVERAGE_READ,
            Permission.COVERAGE_WRITE,
            Permission.PRIOR_AUTH_READ,
            Permission.PRIOR_AUTH_WRITE,
            Permission.TEAM_MESSAGES,
            Permission.TRANSPORT_READ,
        }
        | _BILLING
    ),
    # Auditors review access; they do not administer the people they audit.
    Role.AUDITOR: frozenset(_EVERYONE | {Permission.AUDIT_READ, Permission.AUDIT_EXPORT}),
}

ROLE_LABELS: dict[Role, str] = {
    Role.ADMIN: "Administrator",
    Role.COORDINATOR: "Care coordinator",
    Role.CLINICIAN: "Clinician",
    Role.BILLING: "Billing specialist",
    Role.AUDITOR: "Privacy auditor",
}


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
