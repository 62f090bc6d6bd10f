"""The tables of community."""
