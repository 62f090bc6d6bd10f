"""The tables of social."""
