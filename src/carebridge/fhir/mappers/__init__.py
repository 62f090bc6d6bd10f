"""Carebridge records <-> FHIR R4 resources, one module per domain."""
