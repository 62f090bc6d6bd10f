"""Carebridge: the system a patient care coordinator works in."""

__version__ = "0.1.0"
