"""Messages to patients and families: templates in English and Spanish, letters, and the
communication log."""
