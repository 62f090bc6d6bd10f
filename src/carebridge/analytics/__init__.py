"""Quality measures, registries, reports and de-identified extracts (computed from the
records; nothing here writes clinical data)."""
