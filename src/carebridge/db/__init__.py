"""Data layer: declarative base, engines and units of work, migrations."""
