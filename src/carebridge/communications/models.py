"""The tables of communications."""
