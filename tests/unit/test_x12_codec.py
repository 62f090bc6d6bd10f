"""X12 codec: separators from ISA, envelope validation, writing and round trips."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from carebridge.coverage.x12 import (
    Segment,
    Separators,
    X12Error,
    build_interchange,
    parse,
    serialize_segment,
    write,
)

# The samples live beside the checkout (../shared/data), as in CI.
X12_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "x12"
SAMPLES = sorted(p for p in X12_DIR.glob("*/*") if p.is_file()) if X12_DIR.is_dir() else []
needs_samples = pytest.mark.skipif(
    not SAMPLES, reason=f"X12 samples not found in {X12_DIR} (../shared/data/x12 is absent)"
)

# A real envelope defect in the published sample, which a strict reader must report:
# ST02 is 4321 but SE02 is 4323 (line 10 of the file).
BROKEN_SAMPLES = {"subscriber-health-benefit-check-error.271": ("SE", 10, 2)}

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*240102*0930*^*00501*000000042*0*T*:~"
)


def message(*body: str, isa: str = ISA) -> str:
    return isa + "".join(segment + "~" for segment in body)


GOOD = message(
    "GS*HS*SENDER*RECEIVER*20240102*0930*7*X*005010X279A1",
    "ST*270*0001*005010X279A1",
    "BHT*0022*13*REF1*20240102*0930",
    "HL*1**20*1",
    "SE*4*0001",
    "GE*1*7",
    "IEA*1*000000042",
)


def raises_at(text: str, segment_id: str, index: int, element: int | None = None) -> X12Error:
    with pytest.raises(X12Error) as caught:
        parse(text)
    err = caught.value
    assert (err.segment_id, err.segment_index, err.element) == (segment_id, index, element)
    # The message names the segment and its position, so a person can find it.
    assert f"segment {index}, {segment_id}" in str(err)
    return err


# --- samples -------------------------------------------------------------------------------------


@needs_samples
@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sample_parses_validates_and_round_trips(path: Path) -> None:
    text = path.read_text()
    if path.name in BROKEN_SAMPLES:
        raises_at(text, *BROKEN_SAMPLES[path.name])
        return
    interchange = parse(text)

    seps = interchange.separators
    assert (seps.element, seps.segment) == ("*", "~")
    assert seps.component in {":", "^"}
    assert seps.repetition == interchange.header.element(11)
    assert seps.component == interchange.header.element(16)

    assert len(interchange.groups) == int(interchange.trailer.element(1))
    for group in interchange.groups:
        assert len(group.transactions) == int(group.trailer.element(1))
        for transaction in group.transactions:
            assert len(transaction.segments) == int(transaction.trailer.element(1))
            assert transaction.code == path.suffix.lstrip(".")

    written = write(interchange)
    assert written == text.replace("\r", "").replace("\n", "")
    assert list(parse(written).segments()) == list(interchange.segments())
    # Written with other separators, the same segments come back.
    # Pick delimiters the data does not contain (the 835 samples hold '>' as data).
    free = [c for c in "|!{}@#" if c not in text]
    other = Separators(element=free[0], repetition=free[1], component=free[2], segment="\n")
    again = list(parse(write(interchange, other)).segments())
    assert again[1:] == list(interchange.segments())[1:]
    # ISA11 and ISA16 declare the separators, so only they differ.
    isa = again[0].elements
    assert (isa[10], isa[15]) == (other.repetition, other.component)
    assert (
        isa[:10] + isa[11:15]
        == interchange.header.elements[:10] + interchange.header.elements[11:15]
    )


@needs_samples
def test_271_repetitions_and_components_are_accessible() -> None:
    text = (X12_DIR / "271_005010X279A1" / "subscriber-health-benefit-check.271").read_text()
    segments = list(parse(text).segments())
    repeated = [s for s in segments if s.id == "EB" and "^" in s.element(3)]
    assert repeated, "the 271 sample repeats EB03 service types"
    assert len(repeated[0].repetitions(3)) > 1


# --- separators and elements ---------------------------------------------------------------------


def test_separators_are_read_from_isa_not_assumed() -> None:
    isa = ISA.replace("*", "|").replace("|^|", "|{|").replace("|:~", "|^\n")
    body = ["GS|HS|S|R|20240102|0930|7|X|V", "ST|270|0001", "NM1|IL|1|DOE^JANE{SMITH", "SE|3|0001"]
    text = isa + "".join(s + "\n" for s in [*body, "GE|1|7", "IEA|1|000000042"])
    interchange = parse(text)
    assert interchange.separators == Separators("|", "{", "^", "\n")
    nm1 = interchange.groups[0].transactions[0].body[0]
    assert nm1.components(3) == ["DOE", "JANE"]
    assert nm1.repetitions(3) == ["DOE^JANE", "SMITH"]
    assert nm1.component(3, 2) == "JANE"
    assert nm1.component(3, 1, repetition=1) == "SMITH"
    assert nm1.element(9) == ""


def test_crlf_after_terminators_is_tolerated() -> None:
    crlf = GOOD.replace("~", "~\r\n")
    assert list(parse(crlf).segments()) == list(parse(GOOD).segments())


# --- writing -------------------------------------------------------------------------------------


def test_built_envelope_is_valid_and_round_trips() -> None:
    body = [
        Segment("BHT", ("0022", "13", "REF1", "20240102", "0930")),
        Segment("HL", ("1", "", "20", "1")),
    ]
    built = build_interchange(
        [("270", body), ("270", body[:1])],
        sender_id="SENDER",
        receiver_id="RECEIVER",
        control_number=42,
        group_control_number=7,
        functional_code="HS",
        version="005010X279A1",
        created=datetime(2024, 1, 2, 9, 30),  # noqa: DTZ001 - X12 times are local, no zone
    )
    text = write(built)
    assert text.startswith(ISA)
    assert len(text.split("~")[0]) + 1 == 106
    assert "ST*270*0001*005010X279A1~" in text
    assert "SE*4*0001~" in text
    assert "SE*3*0002~" in text
    assert text.endswith("GE*2*7~IEA*1*000000042~")
    reparsed = parse(text)
    assert list(reparsed.segments()) == list(built.segments())


def test_build_rejects_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="ISA06"):
        build_interchange(
            [],
            sender_id="X" * 16,
            receiver_id="R",
            control_number=1,
            functional_code="HS",
            version="005010X279A1",
            created=datetime(2024, 1, 2),  # noqa: DTZ001
        )
    with pytest.raises(ValueError, match="separator"):
        serialize_segment(Segment("NM1", ("A*B",)))
    with pytest.raises(ValueError, match="separator"):
        serialize_segment(Segment("SVC", ("HC>1",)), Separators(component=">"))


# --- bad input -----------------------------------------------------------------------------------


def test_truncated_isa() -> None:
    err = raises_at(GOOD[:60], "ISA", 1)
    assert "truncated" in str(err)


def test_isa_field_of_wrong_width() -> None:
    # Same total length, but ISA06 is one short and ISA08 one long: separators would be misread.
    shifted = GOOD.replace(
        "SENDER         *ZZ*RECEIVER       ", "SENDER        *ZZ*RECEIVER        "
    )
    raises_at(shifted, "ISA", 1, 6)


def test_wrong_se01_count() -> None:
    err = raises_at(GOOD.replace("SE*4*0001", "SE*5*0001"), "SE", 6, 1)
    assert "SE01 says 5 segments but transaction 0001 has 4" in str(err)


def test_se02_control_number_mismatch() -> None:
    raises_at(GOOD.replace("SE*4*0001", "SE*4*0002"), "SE", 6, 2)


def test_ge_control_number_mismatch() -> None:
    err = raises_at(GOOD.replace("GE*1*7", "GE*1*8"), "GE", 7, 2)
    assert "GS06" in str(err)


def test_ge01_count_mismatch() -> None:
    raises_at(GOOD.replace("GE*1*7", "GE*2*7"), "GE", 7, 1)


def test_iea_control_number_mismatch() -> None:
    err = raises_at(GOOD.replace("IEA*1*000000042", "IEA*1*000000043"), "IEA", 8, 2)
    assert "ISA13" in str(err)


def test_iea01_not_a_number() -> None:
    raises_at(GOOD.replace("IEA*1*", "IEA*X*"), "IEA", 8, 1)


def test_missing_iea() -> None:
    err = raises_at(GOOD.replace("IEA*1*000000042~", ""), "GE", 7)
    assert "missing IEA" in str(err)


def test_missing_se() -> None:
    err = raises_at(GOOD.replace("SE*4*0001~", ""), "GE", 6)
    assert "SE is missing" in str(err)


def test_input_cut_mid_segment() -> None:
    err = raises_at(GOOD[:-10], "IEA", 8)
    assert "truncated" in str(err)


def test_unknown_envelope_segment() -> None:
    raises_at(GOOD.replace("GS*HS", "GX*HS"), "GX", 2)
