"""Read and write X12 5010 interchanges: ISA/IEA -> GS/GE -> ST/SE.

Only the envelope is understood here; transaction bodies (270, 271, 278, 837P) are read by their
own modules from the segments this codec hands out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

# ISA is the one fixed-width segment: its field widths are how a reader finds the separators.
ISA_LENGTH = 106  # "ISA" + 16 elements + 16 element separators + segment terminator
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)  # ISA01..ISA16


class X12Error(ValueError):
    """Malformed X12, naming the segment (1-based position in the interchange) and element."""

    def __init__(
        self, message: str, *, segment_id: str, segment_index: int, element: int | None = None
    ) -> None:
        where = f"{segment_id}{element:02d}" if element is not None else segment_id
        super().__init__(f"{message} (segment {segment_index}, {where})")
        self.segment_id = segment_id
        self.segment_index = segment_index
        self.element = element


@dataclass(frozen=True, slots=True)
class Separators:
    element: str = "*"
    repetition: str = "^"
    component: str = ":"
    segment: str = "~"

    def __post_init__(self) -> None:
        chars = (self.element, self.repetition, self.component, self.segment)
        # Control characters (e.g. \x1d) are legal delimiters; letters, digits and spaces are data.
        if any(len(c) != 1 or c.isalnum() or c == " " for c in chars):
            raise ValueError(f"separators must be single non-alphanumeric characters: {chars!r}")
        if len(set(chars)) != len(chars):
            raise ValueError(f"separators must be distinct: {chars!r}")


DEFAULT_SEPARATORS = Separators()


@dataclass(frozen=True, slots=True, eq=False)
class Segment:
    """One segment; ``elements[0]`` is element 01. Elements keep their raw text (components and
    repetitions inside, split on demand, which keeps parsing cheap); equality compares the split
    form, so a segment read with other separators still equals the original."""

    id: str
    elements: tuple[str, ...]
    separators: Separators = field(default=DEFAULT_SEPARATORS, repr=False)

    def values(self) -> tuple[tuple[tuple[str, ...], ...], ...]:
        """Each element as repetitions of components, independent of the separators."""
        seps = self.separators
        if self.id == "ISA":  # ISA is never split: ISA11/ISA16 *are* separator characters
            return tuple(((e,),) for e in self.elements)
        return tuple(
            tuple(tuple(rep.split(seps.component)) for rep in element.split(seps.repetition))
            for element in self.elements
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Segment):
            return NotImplemented
        if self.separators == other.separators:
            return (self.id, self.elements) == (other.id, other.elements)
        return (self.id, self.values()) == (other.id, other.values())

    def __hash__(self) -> int:
        return hash((self.id, self.values()))

    def element(self, position: int) -> str:
        """Element by its X12 position (1-based); absent trailing elements read as ""."""
        return self.elements[position - 1] if 0 < position <= len(self.elements) else ""

    def repetitions(self, position: int) -> list[str]:
        return self.element(position).split(self.separators.repetition)

    def components(self, position: int, repetition: int = 0) -> list[str]:
        return self.repetitions(position)[repetition].split(self.separators.component)

    def component(self, position: int, component: int, repetition: int = 0) -> str:
        """Component by its X12 position (1-based); "" if absent."""
        parts = self.components(position, repetition)
        return parts[component - 1] if 0 < component <= len(parts) else ""


@dataclass(frozen=True, slots=True)
class TransactionSet:
    header: Segment  # ST
    body: tuple[Segment, ...]
    trailer: Segment  # SE

    @property
    def code(self) -> str:
        return self.header.element(1)

    @property
    def control_number(self) -> str:
        return self.header.element(2)

    @property
    def segments(self) -> tuple[Segment, ...]:
        return (self.header, *self.body, self.trailer)


@dataclass(frozen=True, slots=True)
class FunctionalGroup:
    header: Segment  # GS
    transactions: tuple[TransactionSet, ...]
    trailer: Segment  # GE

    @property
    def control_number(self) -> str:
        return self.header.element(6)


@dataclass(frozen=True, slots=True)
class Interchange:
    header: Segment  # ISA
    groups: tuple[FunctionalGroup, ...]
    trailer: Segment  # IEA
    separators: Separators = DEFAULT_SEPARATORS

    @property
    def control_number(self) -> str:
        return self.header.element(13)

    def segments(self) -> Iterator[Segment]:
        yield self.header
        for group in self.groups:
            yield group.header
            for transaction in group.transactions:
                yield from transaction.segments
            yield group.trailer
        yield self.trailer


# --- reading -------------------------------------------------------------------------------------


def read_separators(text: str) -> Separators:
    """Separators declared by the ISA at the start of ``text`` (leading whitespace removed)."""
    if not text.startswith("ISA"):
        raise X12Error(
            f"interchange must begin with ISA, found {text[:3]!r}",
            segment_id=text[:3] or "ISA",
            segment_index=1,
        )
    if len(text) < ISA_LENGTH:
        raise X12Error(
            f"ISA is truncated: it is fixed width, {ISA_LENGTH} characters, "
            f"but the input has {len(text)}",
            segment_id="ISA",
            segment_index=1,
        )
    fields = text[: ISA_LENGTH - 1].split(text[3])[1:]
    if len(fields) != len(ISA_WIDTHS):
        raise X12Error(
            f"ISA has {len(fields)} elements in its {ISA_LENGTH} characters, expected 16",
            segment_id="ISA",
            segment_index=1,
        )
    for position, (value, width) in enumerate(zip(fields, ISA_WIDTHS, strict=True), start=1):
        # A short or long field shifts ISA16 and the terminator: reading on would misparse.
        if len(value) != width:
            raise X12Error(
                f"ISA{position:02d} is {len(value)} characters, the fixed width is {width}",
                segment_id="ISA",
                segment_index=1,
                element=position,
            )
    # ISA11 became the repetition separator in 00501; before that it is a code ("U").
    repetition = fields[10] if fields[11] >= "00501" else ""
    try:
        return Separators(
            element=text[3],
            repetition=repetition or _unused_char(text[3], fields[15], text[ISA_LENGTH - 1]),
            component=fields[15],
            segment=text[ISA_LENGTH - 1],
        )
    except ValueError as exc:
        raise X12Error(
            f"ISA declares unusable separators: {exc}", segment_id="ISA", segment_index=1
        ) from None


def _unused_char(*taken: str) -> str:
    # Pre-5010 data has no repetition separator; pick one it cannot contain as a delimiter.
    return next(c for c in "^|!" if c not in taken)


def split_segments(text: str) -> list[Segment]:
    """Split an interchange into segments, tolerating CR/LF after each terminator."""
    text = text.lstrip("\ufeff \t\r\n")
    seps = read_separators(text)
    pieces = text.split(seps.segment)
    # Everything after the last terminator must be blank, or the input was cut off mid-segment.
    tail = pieces.pop().strip()
    segments: list[Segment] = []
    for index, piece in enumerate(pieces, start=1):
        raw = piece.strip("\r\n")
        if not raw:
            raise X12Error("empty segment", segment_id="", segment_index=index)
        segment_id, *elements = raw.split(seps.element)
        if not (2 <= len(segment_id) <= 3 and segment_id.isalnum()):
            raise X12Error(
                f"segment identifier {segment_id!r} is not 2-3 letters or digits",
                segment_id=segment_id,
                segment_index=index,
            )
        segments.append(Segment(segment_id, tuple(elements), seps))
    if tail:
        raise X12Error(
            f"input is truncated: {tail[:20]!r} has no segment terminator {seps.segment!r}",
            segment_id=tail.split(seps.element)[0][:3],
            segment_index=len(segments) + 1,
        )
    return segments


def parse(text: str) -> Interchange:
    """Parse and validate one interchange; every problem raises X12Error."""
    segments = split_segments(text)
    return _Builder(segments).interchange()


class _Builder:
    """Walks the segment list once, building the envelope tree and checking counts."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self.pos = 0  # index of the next segment to read

    def _error(self, message: str, index: int, element: int | None = None) -> X12Error:
        segment = self.segments[index]
        return X12Error(message, segment_id=segment.id, segment_index=index + 1, element=element)

    def _next(self, context: str) -> tuple[int, Segment]:
        if self.pos >= len(self.segments):
            last = len(self.segments) - 1
            raise self._error(f"input ends {context}: truncated", last)
        index = self.pos
        self.pos += 1
        return index, self.segments[index]

    def _count(self, index: int, position: int) -> int:
        value = self.segments[index].element(position)
        if not value.isdigit():
            raise self._error(f"count {value!r} is not a number", index, position)
        return int(value)

    def _same(self, index: int, position: int, expected: str, what: str) -> None:
        found = self.segments[index].element(position)
        if found != expected:
            segment_id = self.segments[index].id
            raise self._error(
                f"{segment_id}{position:02d} {found!r} does not match {what} {expected!r}",
                index,
                position,
            )

    def interchange(self) -> Interchange:
        _, isa = self._next("before ISA")
        groups: list[FunctionalGroup] = []
        while True:
            index, segment = self._next("without IEA (missing IEA)")
            if segment.id == "GS":
                groups.append(self._group(index, segment))
            elif segment.id == "IEA":
                break
            else:
                raise self._error(f"expected GS or IEA, found {segment.id}", index)
        if self.pos < len(self.segments):
            raise self._error("data after IEA (one interchange per message)", self.pos)
        if (count := self._count(index, 1)) != len(groups):
            raise self._error(
                f"IEA01 says {count} functional groups but the interchange has {len(groups)}",
                index,
                1,
            )
        self._same(index, 2, isa.element(13), "ISA13 control number")
        return Interchange(isa, tuple(groups), segment, isa.separators)

    def _group(self, gs_index: int, gs: Segment) -> FunctionalGroup:
        if not gs.element(6):
            raise self._error("GS06 group control number is missing", gs_index, 6)
        transactions: list[TransactionSet] = []
        while True:
            index, segment = self._next(f"inside group {gs.element(6)} (missing GE)")
            if segment.id == "ST":
                transactions.append(self._transaction(index, segment))
            elif segment.id == "GE":
                break
            else:
                raise self._error(f"expected ST or GE, found {segment.id}", index)
        if (count := self._count(index, 1)) != len(transactions):
            raise self._error(
                f"GE01 says {count} transaction sets but group {gs.element(6)} "
                f"has {len(transactions)}",
                index,
                1,
            )
        self._same(index, 2, gs.element(6), "GS06 control number")
        return FunctionalGroup(gs, tuple(transactions), segment)

    def _transaction(self, st_index: int, st: Segment) -> TransactionSet:
        if not st.element(1) or not st.element(2):
            raise self._error("ST01 and ST02 are required", st_index, 1 if not st.element(1) else 2)
        while True:
            index, segment = self._next(f"inside transaction {st.element(2)} (missing SE)")
            if segment.id == "SE":
                break
            if segment.id in {"ISA", "IEA", "GS", "GE", "ST"}:
                raise self._error(
                    f"{segment.id} inside transaction {st.element(2)}: SE is missing", index
                )
        have = index - st_index + 1
        if (count := self._count(index, 1)) != have:
            raise self._error(
                f"SE01 says {count} segments but transaction {st.element(2)} has {have}", index, 1
            )
        self._same(index, 2, st.element(2), "ST02 control number")
        return TransactionSet(st, tuple(self.segments[st_index + 1 : index]), segment)


# --- writing -------------------------------------------------------------------------------------


def serialize_segment(segment: Segment, separators: Separators = DEFAULT_SEPARATORS) -> str:
    """One segment without its terminator, re-delimited if it was read with other separators."""
    elements = segment.elements
    source = segment.separators
    if source != separators and segment.id == "ISA":
        # ISA11/ISA16 *declare* the separators, so they are replaced rather than translated.
        elements = (*elements[:10], separators.repetition, *elements[11:15], separators.component)
    elif source != separators:
        delimiters = {
            separators.element,
            separators.repetition,
            separators.component,
            separators.segment,
        }
        values = segment.values()
        for parts in values:
            for rep in parts:
                for value in rep:
                    # Data that holds a new delimiter would be split differently when read back.
                    if delimiters.intersection(value):
                        raise ValueError(f"{segment.id} value {value!r} contains a separator")
        elements = tuple(
            separators.repetition.join(separators.component.join(rep) for rep in parts)
            for parts in values
        )
    for element in elements:
        if separators.element in element or separators.segment in element:
            raise ValueError(f"{segment.id} element {element!r} contains a separator")
    return separators.element.join((segment.id, *elements))


def write(
    interchange: Interchange, separators: Separators | None = None, *, line_breaks: bool = False
) -> str:
    """Serialize an interchange; ``line_breaks`` adds a newline after each terminator."""
    seps = separators or interchange.separators
    end = seps.segment + ("\n" if line_breaks else "")
    return "".join(serialize_segment(s, seps) + end for s in interchange.segments())


def _fixed(value: str, width: int, name: str) -> str:
    if len(value) > width:
        raise ValueError(f"{name} {value!r} is longer than {width} characters")
    return value.ljust(width)


def build_interchange(
    transactions: Sequence[tuple[str, Sequence[Segment]]],
    *,
    sender_id: str,
    receiver_id: str,
    control_number: int,
    functional_code: str,
    version: str,
    created: datetime,
    group_control_number: int = 1,
    sender_qualifier: str = "ZZ",
    receiver_qualifier: str = "ZZ",
    production: bool = False,
    separators: Separators = DEFAULT_SEPARATORS,
) -> Interchange:
    """Wrap transaction bodies (``(code, segments without ST/SE)``) in one group and interchange.

    Counts and control numbers are computed here so callers cannot get them wrong; ST02 runs
    0001, 0002, ... within the group.
    """
    if not 0 < control_number <= 999_999_999:
        raise ValueError(f"interchange control number {control_number} is out of range")
    if not 0 < group_control_number <= 999_999_999:
        raise ValueError(f"group control number {group_control_number} is out of range")

    def seg(segment_id: str, *elements: str) -> Segment:
        return Segment(segment_id, elements, separators)

    isa13 = f"{control_number:09d}"
    isa = seg(
        "ISA",
        "00", " " * 10, "00", " " * 10,
        _fixed(sender_qualifier, 2, "ISA05"), _fixed(sender_id, 15, "ISA06"),
        _fixed(receiver_qualifier, 2, "ISA07"), _fixed(receiver_id, 15, "ISA08"),
        created.strftime("%y%m%d"), created.strftime("%H%M"),
        separators.repetition, "00501", isa13, "0", "P" if production else "T",
        separators.component,
    )  # fmt: skip
    gs06 = str(group_control_number)
    gs = seg(
        "GS", functional_code, sender_id.strip(), receiver_id.strip(),
        created.strftime("%Y%m%d"), created.strftime("%H%M"), gs06, "X", version,
    )  # fmt: skip
    sets: list[TransactionSet] = []
    for number, (code, body) in enumerate(transactions, start=1):
        st02 = f"{number:04d}"
        for segment in body:
            if segment.id in {"ISA", "IEA", "GS", "GE", "ST", "SE"}:
                raise ValueError(f"transaction body must not contain envelope segment {segment.id}")
        sets.append(
            TransactionSet(
                seg("ST", code, st02, version),
                tuple(body),
                seg("SE", str(len(body) + 2), st02),
            )
        )
    group = FunctionalGroup(gs, tuple(sets), seg("GE", str(len(sets)), gs06))
    return Interchange(isa, (group,), seg("IEA", "1", isa13), separators)
