"""The MLLP listener on a real socket and a real database: framing, ACK after commit, bad
input, limits, TLS, graceful stop, and real clients (python-hl7's ``mllp_send`` script and
its asyncio ``open_hl7_connection``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hl7.mllp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from carebridge.settings import Settings
from carebridge.transitions import inbox, mllp
from carebridge.transitions.models import AppliedControlId, Hl7Message
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data" / "hl7v2"
VT, END = b"\x0b", b"\x1c\x0d"


# --- helpers (also used by test_mllp_fuzz.py) -------------------------------------------------


def sample(name: str) -> str:
    """A sample as a sender puts it on the wire: segments ended by CR (the files use LF and
    some start with a byte order mark)."""
    text = (SAMPLES / name).read_text(encoding="utf-8").removeprefix("\ufeff")
    return "\r".join(line for line in text.splitlines() if line.strip())


def sample_names() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.hl7"))


def with_control_id(raw: str, control_id: str) -> str:
    """``raw`` with MSH-10 replaced (every test sends its own ids: the database is shared)."""
    head, _, rest = raw.partition("\r")
    fields = head.split(head[3])
    fields[9] = control_id
    return head[3].join(fields) + ("\r" + rest if rest else "")


def fresh(name: str) -> tuple[str, str]:
    control_id = f"T{uuid.uuid4().hex[:18].upper()}"
    return control_id, with_control_id(sample(name), control_id)


def msa(ack: bytes | str) -> tuple[str, str]:
    """(MSA-1, MSA-2) of a framed or bare ACK."""
    text = ack.decode("utf-8", "replace") if isinstance(ack, bytes) else ack
    text = text.strip("\x0b\x1c\r")
    for segment in text.split("\r"):
        if segment.startswith("MSA"):
            fields = segment.split(segment[3])
            return fields[1], fields[2] if len(fields) > 2 else ""
    raise AssertionError(f"no MSA segment in {text!r}")


def read_ack(sock: socket.socket) -> bytes:
    """One framed answer, or the bytes read before the server closed (b'' when none)."""
    data = b""
    while not data.endswith(END):
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    return data


def exchange(port: int, payload: bytes, *, timeout: float = 10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        return read_ack(sock)


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@dataclass
class Running:
    port: int
    stop: threading.Event
    thread: threading.Thread
    stats: mllp.Stats  # filled in while it runs


@contextmanager
def listening(
    settings: Settings, ssl_context: ssl.SSLContext | None = None, **options: Any
) -> Iterator[Running]:
    """A listener on a free port in a thread; stopped (and checked stopped) afterwards."""
    stop, ready = threading.Event(), threading.Event()
    ports: list[int] = []
    stats = mllp.Stats()

    def on_ready(port: int) -> None:
        ports.append(port)
        ready.set()

    def run() -> None:
        returned = mllp.serve(
            settings,
            "127.0.0.1",
            0,
            ssl=ssl_context,
            ready=on_ready,
            stop=stop,
            stats=stats,
            **options,
        )
        assert returned is stats

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(15), "the listener did not start"
    running = Running(ports[0], stop, thread, stats)
    try:
        yield running
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive(), "the listener did not stop"


def stored(factory: sessionmaker[Session], control_ids: list[str]) -> dict[str, list[str]]:
    """Status of each stored copy, by control id."""
    with factory() as db:
        rows = db.execute(
            select(Hl7Message.control_id, Hl7Message.status).where(
                Hl7Message.control_id.in_(control_ids)
            )
        ).all()
    found: dict[str, list[str]] = {}
    for control_id, status in rows:
        found.setdefault(control_id, []).append(status)
    return found


def message_count(factory: sessionmaker[Session]) -> int:
    with factory() as db:
        return db.scalar(select(func.count()).select_from(Hl7Message)) or 0


@pytest.fixture
def server(settings: Settings) -> Iterator[Running]:
    with listening(settings) as running:
        yield running


# --- the happy path ---------------------------------------------------------------------------


def test_a_sample_message_is_committed_before_its_ack(
    server: Running, factory: sessionmaker[Session]
) -> None:
    control_id, raw = fresh("ADT-A01-01.hl7")
    ack = exchange(server.port, mllp.frame(raw))
    assert ack.startswith(VT)
    assert ack.endswith(END)
    code, echoed = msa(ack)
    assert echoed == control_id
    assert code in ("AA", "AE")
    with factory() as db:
        message = db.scalars(select(Hl7Message).where(Hl7Message.control_id == control_id)).one()
    assert message.source == "mllp"
    assert message.peer
    assert message.peer.startswith("127.0.0.1:")
    assert message.raw == raw
    assert message.ack_code == code
    assert message.status in (("applied", "duplicate") if code == "AA" else ("rejected",))


def test_every_sample_over_several_connections_is_answered_and_every_ack_stored(
    server: Running, factory: sessionmaker[Session]
) -> None:
    names = sample_names()
    sent = {name: fresh(name) for name in names}
    order = list(sent.items())
    groups = [order[i::4] for i in range(4)]
    answers: dict[str, tuple[str, str]] = {}

    def client(group: list[tuple[str, tuple[str, str]]]) -> None:
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
            for name, (_, raw) in group:
                sock.sendall(mllp.frame(raw))
                answers[name] = msa(read_ack(sock))

    threads = [threading.Thread(target=client, args=(g,)) for g in groups]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == len(names)
    for name, (control_id, _) in sent.items():
        assert answers[name][1] == control_id, name
    # Every message that was acknowledged at all is in the database, with the code sent.
    found = stored(factory, [control_id for control_id, _ in sent.values()])
    for name, (control_id, _) in sent.items():
        assert control_id in found, f"{name} answered {answers[name][0]} but not stored"
    applied = [n for n in names if answers[n][0] == "AA"]
    assert applied, "no sample was accepted"
    for name in applied:
        assert found[sent[name][0]] == ["applied"], name


def test_a_repeated_message_gets_aa_and_is_applied_once(
    server: Running, factory: sessionmaker[Session]
) -> None:
    control_id, raw = fresh("ADT-A01-01.hl7")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(mllp.frame(raw))
        first = msa(read_ack(sock))
        sock.sendall(mllp.frame(raw))
        second = msa(read_ack(sock))
    assert first == ("AA", control_id)
    assert second == ("AA", control_id)
    assert sorted(stored(factory, [control_id])[control_id]) == ["applied", "duplicate"]
    with factory() as db:
        applied = db.scalars(
            select(AppliedControlId).where(AppliedControlId.control_id == control_id)
        ).all()
    assert len(applied) == 1


def test_concurrent_messages_are_committed_in_groups(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    # The first message is held in the writer until the others have arrived: they must then
    # be applied together, in one transaction (group commit), and all be acknowledged.
    held, release = threading.Event(), threading.Event()

    def slow_receive(db: Session, raw: str, **kwargs: Any) -> inbox.Outcome:
        if not held.is_set():
            held.set()
            assert release.wait(10)
        return inbox.receive(db, raw, **kwargs)

    messages = [fresh("ADT-A04-01.hl7") for _ in range(12)]
    answers: dict[str, tuple[str, str]] = {}
    with listening(settings, receive=slow_receive) as running:

        def send(control_id: str, raw: str) -> None:
            answers[control_id] = msa(exchange(running.port, mllp.frame(raw)))

        threads = [threading.Thread(target=send, args=m) for m in messages]
        threads[0].start()
        assert held.wait(10)
        for t in threads[1:]:
            t.start()
        time.sleep(0.5)  # the other eleven are read and queued behind the first
        release.set()
        for t in threads:
            t.join(20)
    assert {cid: a[1] for cid, a in answers.items()} == {cid: cid for cid, _ in messages}
    assert running.stats.messages == 12
    assert running.stats.batches == 2
    assert running.stats.largest_batch == 11
    assert set(stored(factory, [cid for cid, _ in messages])) == {cid for cid, _ in messages}


def test_a_message_that_breaks_its_batch_is_rejected_alone(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    # A fault inside the writer (a lost database connection, a full disk) rolls the batch
    # back; the batch is retried one message at a time, so only the message that fails goes
    # unanswered (its connection is closed: the sender sends it again).
    held, release = threading.Event(), threading.Event()
    poison, poison_raw = fresh("ADT-A08-01.hl7")

    def faulty_receive(db: Session, raw: str, **kwargs: Any) -> inbox.Outcome:
        if not held.is_set():
            held.set()
            assert release.wait(10)
        if poison in raw:
            raise RuntimeError("fault injected for this test")
        return inbox.receive(db, raw, **kwargs)

    first = fresh("ADT-A04-02.hl7")
    others = [fresh("ADT-A04-01.hl7") for _ in range(4)]
    answers: dict[str, tuple[str, str]] = {}
    with listening(settings, receive=faulty_receive) as running:

        def send(control_id: str, raw: str) -> None:
            answer = exchange(running.port, mllp.frame(raw))
            answers[control_id] = msa(answer) if answer else ("", "")

        threads = [threading.Thread(target=send, args=m) for m in [first, *others]]
        threads.append(threading.Thread(target=send, args=(poison, poison_raw)))
        threads[0].start()
        assert held.wait(10)
        for t in threads[1:]:
            t.start()
        time.sleep(0.5)
        release.set()
        for t in threads:
            t.join(20)
    assert answers[poison] == ("", "")  # closed without an ACK
    assert running.stats.failed_batches == 1
    good = [first[0]] + [cid for cid, _ in others]
    assert all(answers[cid][0] in ("AA", "AE") for cid in good)
    found = stored(factory, [*good, poison])
    assert set(found) == set(good)  # nothing of the poison message, all of the others


# --- bad input --------------------------------------------------------------------------------


def test_a_frame_that_is_not_hl7_gets_ar_and_the_connection_goes_on(
    server: Running, factory: sessionmaker[Session]
) -> None:
    before = message_count(factory)
    control_id, raw = fresh("ADT-A01-02.hl7")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(VT + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + END)
        code, echoed = msa(read_ack(sock))
        assert (code, echoed) == ("AR", "")
        sock.sendall(VT + END)  # an empty frame
        assert msa(read_ack(sock))[0] == "AR"
        sock.sendall(mllp.frame(raw))
        assert msa(read_ack(sock))[1] == control_id
    assert message_count(factory) == before + 1


def test_bytes_outside_any_frame_close_only_that_connection(server: Running) -> None:
    control_id, raw = fresh("ADT-A01-02.hl7")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bystander:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"hello there" + END)
            assert closed_by_server(sock)
        bystander.sendall(mllp.frame(raw))
        assert msa(read_ack(bystander))[1] == control_id
    assert server.stats.unframed == 1


def test_a_connection_dropped_mid_frame_stores_nothing(
    server: Running, factory: sessionmaker[Session]
) -> None:
    control_id, raw = fresh("ADT-A03-01.hl7")
    other_id, other = fresh("ADT-A03-02.hl7")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bystander:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(mllp.frame(raw)[: len(raw) // 2])
        bystander.sendall(mllp.frame(other))
        assert msa(read_ack(bystander))[1] == other_id
    time.sleep(0.2)
    assert server.stats.truncated == 1
    assert stored(factory, [control_id, other_id]).keys() == {other_id}


def test_an_oversize_frame_gets_ar_and_the_connection_is_closed(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    control_id, raw = fresh("ADT-A01-01.hl7")
    big = raw + "\rNTE|1||" + "x" * 20000
    with listening(settings, max_frame=16384) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(mllp.frame(big))
            answer = read_ack(sock)
            assert closed_by_server(sock)
        assert msa(answer) == ("AR", control_id)
        assert b"larger than 16,384 bytes" in answer
        # A message within the limit still goes through.
        small_id, small = fresh("ADT-A01-01.hl7")
        assert msa(exchange(running.port, mllp.frame(small)))[1] == small_id
    assert stored(factory, [control_id, small_id]).keys() == {small_id}


def test_wrong_encoding_gets_ar_and_nothing_stored(
    server: Running, factory: sessionmaker[Session]
) -> None:
    before = message_count(factory)
    control_id, raw = fresh("ADT-A01-01.hl7")
    latin = raw.replace("PID|1|", "PID|1|\u00e9", 1).encode("latin-1")  # no MSH-18: UTF-8
    answer = exchange(server.port, VT + latin + END)
    assert msa(answer) == ("AR", control_id)
    assert b"not valid UTF-8" in answer
    assert message_count(factory) == before


def test_wrong_encoding_characters_get_ar(server: Running, factory: sessionmaker[Session]) -> None:
    control_id, raw = fresh("ADT-A01-01.hl7")
    broken = "MSH|^^^^" + raw[8:]  # MSH-2 repeats one character: no usable separators
    code, _ = msa(exchange(server.port, mllp.frame(broken)))
    assert code == "AR"
    assert all(s == "rejected" for s in stored(factory, [control_id]).get(control_id, []))


def test_a_declared_character_set_is_honoured(
    server: Running, factory: sessionmaker[Session]
) -> None:
    control_id, raw = fresh("ADT-A01-01.hl7")
    head, _, rest = raw.partition("\r")
    fields = head.split("|")
    fields += [""] * (18 - len(fields))
    fields[17] = "8859/1"  # MSH-18
    text = "|".join(fields) + "\r" + rest
    text = text.replace("Woolfson", "Wo\u00f6lfson")
    answer = exchange(server.port, VT + text.encode("latin-1") + END)
    assert msa(answer)[1] == control_id
    with factory() as db:
        message = db.scalars(select(Hl7Message).where(Hl7Message.control_id == control_id)).one()
    assert "Wo\u00f6lfson" in message.raw


def test_connections_beyond_the_limit_are_closed_and_the_others_keep_working(
    settings: Settings,
) -> None:
    with listening(settings, max_connections=3) as running:
        open_ = [
            socket.create_connection(("127.0.0.1", running.port), timeout=10) for _ in range(3)
        ]
        try:
            time.sleep(0.2)  # the three are accepted before the fourth arrives
            with socket.create_connection(("127.0.0.1", running.port), timeout=10) as extra:
                assert closed_by_server(extra)
            for sock in open_:
                control_id, raw = fresh("ADT-A04-01.hl7")
                sock.sendall(mllp.frame(raw))
                assert msa(read_ack(sock))[1] == control_id
        finally:
            for sock in open_:
                sock.close()
        time.sleep(0.2)
        control_id, raw = fresh("ADT-A04-01.hl7")
        assert msa(exchange(running.port, mllp.frame(raw)))[1] == control_id  # room again
    assert running.stats.refused == 1


def test_idle_connections_time_out(settings: Settings) -> None:
    with (
        listening(settings, idle_timeout=0.5) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock,
    ):
        started = time.monotonic()
        assert closed_by_server(sock)
        assert time.monotonic() - started < 5
    assert running.stats.timed_out == 1


# --- stopping ---------------------------------------------------------------------------------


def test_stopping_finishes_the_message_in_hand_then_refuses_connections(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    held, release = threading.Event(), threading.Event()

    def slow_receive(db: Session, raw: str, **kwargs: Any) -> inbox.Outcome:
        held.set()
        assert release.wait(10)
        return inbox.receive(db, raw, **kwargs)

    control_id, raw = fresh("ADT-A01-02.hl7")
    with listening(settings, receive=slow_receive) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(mllp.frame(raw))
            assert held.wait(10)
            running.stop.set()  # stop while the message is in the writer's hands
            time.sleep(0.3)
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", running.port), timeout=2).close()
            release.set()
            assert msa(read_ack(sock))[1] == control_id
            assert closed_by_server(sock)
        running.thread.join(10)
        assert not running.thread.is_alive()
    assert control_id in stored(factory, [control_id])


def cli_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CAREBRIDGE_DATABASE_URL=settings.database_url,
        CAREBRIDGE_SECRET_KEY=TEST_SECRET,
        PYTHONPATH=str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", ""),
    )
    return env


def test_the_listen_command_serves_and_stops_on_sigterm(
    settings: Settings, factory: sessionmaker[Session]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "carebridge.cli", "hl7", "listen", "--port", "0"],
        env=cli_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "Listening for HL7 v2 (MLLP) on 127.0.0.1:" in line, proc.stderr
        port = int(line.split("127.0.0.1:")[1].split()[0])
        control_id, raw = fresh("ADT-A01-01.hl7")
        assert msa(exchange(port, mllp.frame(raw)))[1] == control_id
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Listener stopped: 1 message(s) answered" in out
    assert control_id in stored(factory, [control_id])


def test_the_listen_command_wants_both_tls_files(settings: Settings, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "carebridge.cli", "hl7", "listen", "--tls-cert", str(tmp_path)],
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--tls-cert and --tls-key go together" in result.stderr


# --- TLS and real clients ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_mllp_over_tls(
    settings: Settings, certificate: tuple[Path, Path], factory: sessionmaker[Session]
) -> None:
    cert, key = certificate
    client_context = ssl.create_default_context(cafile=str(cert))
    control_id, raw = fresh("ADT-A01-01.hl7")
    with listening(settings, mllp.tls_context(str(cert), str(key))) as running:
        with (
            socket.create_connection(("127.0.0.1", running.port), timeout=10) as plain,
            client_context.wrap_socket(plain, server_hostname="localhost") as sock,
        ):
            sock.sendall(mllp.frame(raw))
            assert msa(read_ack(sock))[1] == control_id
        # A client speaking plain MLLP to the TLS port gets nothing and breaks nothing.
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as plain:
            plain.sendall(mllp.frame(raw))
            assert closed_by_server(plain)
    assert stored(factory, [control_id])[control_id]


def test_mllp_send_console_script(
    server: Running, factory: sessionmaker[Session], tmp_path: Path
) -> None:
    script = shutil.which("mllp_send") or str(Path(sys.executable).parent / "mllp_send")
    messages = [fresh(name) for name in ("ADT-A01-01.hl7", "ADT-A03-01.hl7", "ADT04-251.hl7")]
    messages.append(messages[0])  # the same message again: AA, applied once
    path = tmp_path / "feed.hl7"
    path.write_bytes(b"".join(mllp.frame(raw) for _, raw in messages))
    result = subprocess.run(
        [script, "--port", str(server.port), "--file", str(path), "127.0.0.1"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    acks = [line for line in result.stdout.split(b"\n") if b"MSA" in line]
    answers = [msa(ack) for ack in acks]
    assert [echoed for _, echoed in answers] == [cid for cid, _ in messages]
    assert answers[0][0] == "AA"
    assert answers[-1][0] == "AA"
    found = stored(factory, [cid for cid, _ in messages])
    assert sorted(found[messages[0][0]]) == ["applied", "duplicate"]


def test_python_hl7_asyncio_clients(server: Running, factory: sessionmaker[Session]) -> None:
    names = ["ADT-A01-01.hl7", "ADT-A02-01.hl7", "ADT-A03-01.hl7", "ADT-A08-01.hl7"]

    async def client(batch: list[tuple[str, str]]) -> list[tuple[str, str]]:
        reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", server.port)
        answers = []
        try:
            for _, raw in batch:
                writer.writeblock(raw.encode())
                await writer.drain()
                block = await asyncio.wait_for(reader.readblock(), 10)
                answers.append(msa(block))
        finally:
            writer.close()
            await writer.wait_closed()
        return answers

    batches = [[fresh(name) for name in names] for _ in range(5)]

    async def main() -> list[list[tuple[str, str]]]:
        return await asyncio.gather(*(client(b) for b in batches))

    # In a thread of its own: a browser test's Playwright loop may be running in this one.
    with ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, main()).result()
    for batch, answers in zip(batches, results, strict=True):
        assert [echoed for _, echoed in answers] == [cid for cid, _ in batch]
    ids = [cid for batch in batches for cid, _ in batch]
    assert set(stored(factory, ids)) == set(ids)


def test_frame_helpers() -> None:
    assert mllp.frame("MSH|x") == b"\x0bMSH|x\x1c\r"
    assert mllp.declared_codec(b"MSH|^~\\&" + b"|" * 16 + b"8859/1\r") == "latin-1"
    assert mllp.declared_codec(b"MSH|^~\\&|A|B\r") is None
    text, codec, error = mllp.decode(b"\r\nMSH|^~\\&|A\r")
    assert (text, codec, error) == ("MSH|^~\\&|A\r", "utf-8", "")
    assert (
        mllp.decode(b"MSH|a\x00b")[2] == "NUL character at offset 5: not allowed in an HL7 message"
    )
