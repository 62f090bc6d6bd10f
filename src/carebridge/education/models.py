"""The tables of education."""
