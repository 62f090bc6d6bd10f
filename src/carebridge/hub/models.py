"""The tables of hub."""
