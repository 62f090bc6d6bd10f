"""Fuzzing the MLLP listener: random bytes, random framings and mutated sample messages. After
each, the listener still answers a good message, and every message it acknowledged with AA
is in the database."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from carebridge.transitions import mllp
from tests.integration.test_mllp import (
    END,
    VT,
    Running,
    fresh,
    listening,
    msa,
    read_ack,
    sample,
    sample_names,
    stored,
)

FUZZ = hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SAMPLES = [sample(name) for name in sample_names()]
SEPARATORS = [b"|", b"^", b"~", b"\\", b"&", b"\r", b"\n", b"MSH", b"\x00", b"\xff", b"\xc3"]
CODES = {"AA", "AE", "AR"}


@pytest.fixture(scope="module")
def server(db_url: str) -> Iterator[Running]:
    from tests.conftest import make_settings

    # A short idle timeout: an unfinished frame from one example does not keep its
    # connection (and a slot) open for long.
    with listening(make_settings(db_url), idle_timeout=2, max_frame=64 * 1024) as running:
        yield running


@pytest.fixture(scope="module")
def module_factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    from carebridge.db.session import make_engine, make_sessionmaker

    engine = make_engine(db_url)
    yield make_sessionmaker(engine)
    engine.dispose()


def send_and_collect(port: int, payload: bytes, chunks: list[int]) -> list[bytes]:
    """Send ``payload`` cut at ``chunks`` (so frames straddle reads), half-close, and read
    every answer until the server closes."""
    answers = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        start = 0
        try:  # the server may rightly hang up part-way (bytes outside a frame)
            for cut in [*sorted({c % (len(payload) + 1) for c in chunks}), len(payload)]:
                if cut > start:
                    sock.sendall(payload[start:cut])
                    start = cut
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # broken pipe, reset, not connected
            pass
        try:
            while chunk := sock.recv(65536):
                answers += chunk
        except OSError:
            pass
    return [VT + part + END for part in answers.split(END)[:-1]]


def still_answers(running: Running, factory: sessionmaker[Session]) -> None:
    control_id, raw = fresh("ADT-A04-01.hl7")
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(mllp.frame(raw))
        assert msa(read_ack(sock))[1] == control_id
    assert control_id in stored(factory, [control_id])


def check_answers(answers: list[bytes], factory: sessionmaker[Session]) -> None:
    accepted = []
    for answer in answers:
        assert answer.startswith(VT)
        code, control_id = msa(answer)
        assert code in CODES, answer
        if code == "AA" and control_id:
            accepted.append(control_id)
    if accepted:
        assert set(accepted) <= set(stored(factory, accepted))


@FUZZ
@given(payload=st.binary(max_size=2048), chunks=st.lists(st.integers(0, 4096), max_size=5))
def test_random_bytes(
    server: Running, module_factory: sessionmaker[Session], payload: bytes, chunks: list[int]
) -> None:
    check_answers(send_and_collect(server.port, payload, chunks), module_factory)
    still_answers(server, module_factory)


piece = st.one_of(
    st.sampled_from([VT, END, b"\x1c", b"\r", VT + END]),
    st.binary(max_size=64),
    st.sampled_from(SAMPLES).map(lambda raw: raw.encode()),
)


@FUZZ
@given(pieces=st.lists(piece, max_size=8), chunks=st.lists(st.integers(0, 8192), max_size=6))
def test_random_framings(
    server: Running, module_factory: sessionmaker[Session], pieces: list[bytes], chunks: list[int]
) -> None:
    check_answers(send_and_collect(server.port, b"".join(pieces), chunks), module_factory)
    still_answers(server, module_factory)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    control_id, raw = fresh(draw(st.sampled_from(sample_names())))
    data = bytearray(raw.encode())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        if kind == "truncate":
            del data[at:]
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 20))]
        else:
            new = draw(st.one_of(st.sampled_from(SEPARATORS), st.binary(min_size=1, max_size=8)))
            new = new.replace(b"\x0b", b"").replace(b"\x1c", b"")  # stays one frame
            data[at : at + (1 if kind == "replace" else 0)] = new
    return control_id, bytes(data)


@FUZZ
@given(message=mutated())
def test_mutated_sample_messages(
    server: Running, module_factory: sessionmaker[Session], message: tuple[str, bytes]
) -> None:
    control_id, data = message
    answers = send_and_collect(server.port, VT + data + END, [])
    assert len(answers) == 1  # a frame always gets exactly one answer
    code, echoed = msa(answers[0])
    assert code in CODES
    found = stored(module_factory, [control_id]).get(control_id, [])
    if code == "AA" and echoed == control_id:
        assert found
        assert set(found) <= {"applied", "duplicate"}
    if code != "AA":
        assert set(found) <= {"rejected"}  # stored for the dead-letter list, or not at all
    still_answers(server, module_factory)
