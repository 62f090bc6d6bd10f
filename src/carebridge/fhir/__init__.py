"""FHIR R4 (4.0.1): the API at /fhir/R4, import and bulk export."""
