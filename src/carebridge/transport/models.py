"""The tables of transport."""
