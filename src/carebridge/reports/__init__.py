"""Scheduled reports: the quality measures emailed weekly to chosen users."""
