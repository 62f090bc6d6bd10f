"""Scheduling: providers, locations, availability, slot search, booking, waitlist, reminders."""
