"""X12 5010 codec: separators from ISA, envelope validation and envelope building."""

from carebridge.coverage.x12.codec import (
    DEFAULT_SEPARATORS,
    FunctionalGroup,
    Interchange,
    Segment,
    Separators,
    TransactionSet,
    X12Error,
    build_interchange,
    parse,
    serialize_segment,
    write,
)

__all__ = [
    "DEFAULT_SEPARATORS",
    "FunctionalGroup",
    "Interchange",
    "Segment",
    "Separators",
    "TransactionSet",
    "X12Error",
    "build_interchange",
    "parse",
    "serialize_segment",
    "write",
]
