"""The FHIR types each domain serves from its records (one module per domain)."""
