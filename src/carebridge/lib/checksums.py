"""Check digits on human-facing numbers, so a mistyped number is caught at once."""

from __future__ import annotations


def luhn_digit(digits: str) -> str:
    """The Luhn (mod 10) check digit to append to ``digits``."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    """A National Provider Identifier: 10 digits, the last a Luhn digit computed over the
    other nine prefixed with 80840 (the CMS rule)."""
    return len(npi) == 10 and npi.isdigit() and luhn_digit("80840" + npi[:9]) == npi[9]
