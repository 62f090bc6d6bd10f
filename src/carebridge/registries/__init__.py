"""Registries and care gaps: saved population queries with counts, lists and bulk tasks."""
