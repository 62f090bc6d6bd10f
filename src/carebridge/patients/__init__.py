"""Patients: registration, identifiers, contacts, health history, consent, duplicates."""
