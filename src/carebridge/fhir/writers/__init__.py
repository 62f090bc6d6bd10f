"""FHIR create and update of Carebridge's own records, one module per domain (``common``
holds what they share); ``carebridge.fhir.writes`` puts them together as ``WRITERS``."""
