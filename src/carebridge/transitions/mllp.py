"""``carebridge hl7 listen``: the ADT feed over MLLP (HL7 v2 Minimal Lower Layer Protocol).

A message travels in a frame: ``0x0B`` (VT), the message, ``0x1C 0x0D`` (FS CR); the answer
is an ACK in a frame of its own. The event loop only moves bytes: it reads frames from many
connections (optionally over TLS) and hands each message to one writer thread, which takes
whatever has arrived from all connections as a batch and, in one transaction, calls
``inbox.receive`` for each inside ``inbox.batch`` (each message applies in its own savepoint;
the messages' rows are written together at the end), commits, and only
then gives each connection its ACK (group commit). An ACK therefore always follows a durable
commit: an acknowledged message is never lost. A batch that fails as a whole is rolled back
and its messages are tried again one transaction each, so one message that cannot be stored
cannot take the others down with it; that one gets no ACK (its connection is closed) and the
sender sends it again.

Bad input never stops the listener and only ever affects its own connection:

- a frame holding something that is not an HL7 message (no ``MSH`` segment first, bytes that
  are not valid in the declared character set, an empty frame) gets an AR from
  ``inbox.ack_for_garbage`` and nothing is stored;
- bytes that never form a frame (no VT before the end of the block) close the connection;
- a connection dropped mid-frame stores nothing;
- a frame larger than ``max_frame`` bytes gets an AR and the connection is closed;
- connections beyond ``max_connections`` are closed at once; others keep working;
- a connection that sends nothing for ``idle_timeout`` seconds is closed.

Stopping (SIGTERM, Ctrl-C or a :class:`threading.Event`): no new connections are accepted, no
new frames are read, the messages already received are committed and acknowledged, then the
connections are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import signal
import ssl as ssl_module
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from types import FrameType
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from carebridge.db.session import WRITE_OPTION, make_engine, make_sessionmaker
from carebridge.lib.time import utcnow
from carebridge.settings import Settings

log = logging.getLogger("carebridge.hl7.listener")

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
END = FS + CR
BOM = b"\xef\xbb\xbf"
MAX_FRAME = 1024 * 1024  # bytes between VT and FS CR
MAX_CONNECTIONS = 100
IDLE_TIMEOUT = 300.0  # seconds without a frame before a connection is closed
MAX_BATCH = 500  # messages per transaction
STOP_POLL = 0.1  # seconds between looks at the stop event
DRAIN_TIMEOUT = 30.0  # seconds, when stopping, for the ACKs in hand to be sent
HEAD = 4096  # bytes of a rejected frame looked at for its MSH (control id, sender)
# MSH-18 values (HL7 table 0211) we decode with something other than UTF-8.
CHARSETS = {
    "ASCII": "ascii",
    "8859/1": "latin-1",
    "8859/2": "iso8859-2",
    "8859/5": "iso8859-5",
    "8859/7": "iso8859-7",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8",
}


class Answer(Protocol):
    """What ``inbox.receive`` gives back (``inbox.Outcome``): the code and the ACK to send."""

    @property
    def code(self) -> str: ...

    @property
    def ack(self) -> str: ...


class Receive(Protocol):
    def __call__(
        self,
        db: Session,
        raw: str,
        *,
        source: str,
        peer: str | None,
        settings: Settings,
        now: datetime | None = None,
    ) -> Answer: ...


Garbage = Callable[[bytes | str, Settings, str], str]


@dataclass
class Stats:
    """What a listener did, for its log line and for tests."""

    connections: int = 0
    refused: int = 0  # beyond max_connections
    timed_out: int = 0
    truncated: int = 0  # dropped mid-frame
    unframed: int = 0  # bytes that were never a frame
    oversize: int = 0
    messages: int = 0  # frames answered (stored or not)
    batches: int = 0
    largest_batch: int = 0
    failed_batches: int = 0  # rolled back and retried one message at a time
    codes: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        codes = ", ".join(f"{n} {code}" for code, n in sorted(self.codes.items())) or "none"
        return (
            f"{self.messages} message(s) answered ({codes}) in {self.batches} batch(es), "
            f"{self.connections} connection(s), {self.refused} refused, "
            f"{self.timed_out} timed out, {self.truncated} dropped mid-frame, "
            f"{self.oversize} oversize, {self.unframed} unframed"
        )


@dataclass
class _Job:
    text: str
    peer: str | None
    received_at: datetime
    future: asyncio.Future[tuple[str, str]]  # (code, ACK)


class _Stop:
    """Put on the queue after the last job: the writer finishes what it holds, then exits."""


class _NoFrame(Exception):
    """Bytes before the end of a block with no start of block among them."""


def frame(message: str | bytes, encoding: str = "utf-8") -> bytes:
    """``message`` in an MLLP frame."""
    data = message.encode(encoding, "replace") if isinstance(message, str) else message
    return VT + data + END


def declared_codec(block: bytes) -> str | None:
    """The Python codec for MSH-18 of ``block`` (None when it declares nothing we know)."""
    end = len(block)
    for separator in (b"\r", b"\n"):
        at = block.find(separator)
        if at >= 0:
            end = min(end, at)
    msh = block[:end]
    if not msh.startswith(b"MSH") or len(msh) < 4:
        return None
    fields = msh.split(msh[3:4])
    if len(fields) <= 17:
        return None
    repetition = fields[1][1:2] or b"~"
    charset = fields[17].split(repetition)[0].decode("ascii", "replace").strip().upper()
    return CHARSETS.get(charset)


def decode(block: bytes) -> tuple[str | None, str, str]:
    """``(text, codec, error)``: the message as text, or None and why it is not HL7. Line
    breaks before the MSH and a UTF-8 byte order mark (some senders write one) are dropped."""
    block = block.removeprefix(BOM)
    start = len(block) - len(block.lstrip(b"\r\n\t "))
    declared = declared_codec(block[start:])
    codec = declared or "utf-8"
    if not block.strip():
        return None, codec, "empty frame: no message between the MLLP start and end of block"
    try:
        text = block.decode(codec)
    except UnicodeDecodeError as exc:
        name = f"MSH-18 {codec}" if declared else "UTF-8 (MSH-18 declares no character set)"
        return (
            None,
            codec,
            (f"byte 0x{block[exc.start]:02X} at offset {exc.start} is not valid {name}"),
        )
    if not text[start:].startswith("MSH"):
        return (
            None,
            codec,
            (
                "not an HL7 v2 message: the frame does not start with an MSH segment "
                f"(first bytes {block[:12]!r})"
            ),
        )
    nul = text.find("\x00")
    if nul >= 0:
        return None, codec, f"NUL character at offset {nul}: not allowed in an HL7 message"
    return text[start:], codec, ""


def _default_receive() -> Receive:
    from carebridge.transitions import inbox

    return inbox.receive


def _batch(db: Session) -> AbstractContextManager[None]:
    from carebridge.transitions import inbox

    return inbox.batch(db)


def _default_garbage() -> Garbage:
    from carebridge.transitions import inbox

    return inbox.ack_for_garbage


def _durable_sqlite(dbapi_conn: Any, _record: Any) -> None:
    # WAL with synchronous=FULL syncs the log at every commit: an ACK promises the message
    # survives a power cut, not just a crash of this process. Group commit pays it per batch.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


class Writer:
    """The one thread that touches the database: batches of jobs, one commit each."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        settings: Settings,
        loop: asyncio.AbstractEventLoop,
        stats: Stats,
        *,
        receive: Receive,
        max_batch: int = MAX_BATCH,
        batch_wait: float = 0.0,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.loop = loop
        self.stats = stats
        self.receive = receive
        self.max_batch = max_batch
        self.batch_wait = batch_wait
        self.jobs: queue.SimpleQueue[_Job | _Stop] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="hl7-writer", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def put(self, job: _Job) -> None:
        self.jobs.put(job)

    def finish(self) -> None:
        """Apply and acknowledge everything queued so far, then end the thread."""
        self.jobs.put(_Stop())

    def _take(self) -> tuple[list[_Job], bool]:
        first = self.jobs.get()
        if isinstance(first, _Stop):
            return [], True
        batch, deadline = [first], perf_counter() + self.batch_wait
        while len(batch) < self.max_batch:
            try:
                wait = deadline - perf_counter()
                item = self.jobs.get(timeout=wait) if wait > 0 else self.jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, _Stop):
                return batch, True
            batch.append(item)
        return batch, False

    def _run(self) -> None:
        done = False
        while not done:
            batch, done = self._take()
            if not batch:
                continue
            answers = self._apply(batch)
            self.stats.batches += 1
            self.stats.largest_batch = max(self.stats.largest_batch, len(batch))
            try:
                self.loop.call_soon_threadsafe(_settle, list(zip(batch, answers, strict=True)))
            except RuntimeError:  # the loop is gone: nobody is waiting for these ACKs
                log.error("event loop closed before %d ACK(s) could be sent", len(batch))

    def _apply(self, batch: Sequence[_Job]) -> list[tuple[str, str]]:
        try:
            return self._transaction(batch)
        except Exception:
            if len(batch) == 1:
                return [self._failed(batch[0])]
            log.exception("batch of %d message(s) failed; retrying one at a time", len(batch))
            self.stats.failed_batches += 1
        answers = []
        for job in batch:
            try:
                answers.extend(self._transaction([job]))
            except Exception:
                answers.append(self._failed(job))
        return answers

    def _transaction(self, batch: Sequence[_Job]) -> list[tuple[str, str]]:
        db = self.factory()
        try:
            db.connection(execution_options={WRITE_OPTION: True})
            answers = []
            with _batch(db):
                for job in batch:
                    outcome = self.receive(
                        db,
                        job.text,
                        source="mllp",
                        peer=job.peer,
                        settings=self.settings,
                        now=job.received_at,
                    )
                    answers.append((outcome.code, outcome.ack))
            db.commit()
            return answers
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def _failed(self, job: _Job) -> tuple[str, str]:
        """A message that could not be stored (the database is down, the disk full): no
        ACK at all, and the connection is closed, so the sender sends it again."""
        log.exception("message from %s could not be stored; closing without an ACK", job.peer)
        return "", ""


def _settle(results: list[tuple[_Job, tuple[str, str]]]) -> None:
    for job, answer in results:
        if not job.future.done():
            job.future.set_result(answer)


class Listener:
    """An MLLP server: connections on the event loop, the database on one writer thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        max_connections: int = MAX_CONNECTIONS,
        idle_timeout: float = IDLE_TIMEOUT,
        max_frame: int = MAX_FRAME,
        max_batch: int = MAX_BATCH,
        batch_wait: float = 0.0,
        receive: Receive | None = None,
        garbage: Garbage | None = None,
        stats: Stats | None = None,
    ) -> None:
        if max_connections < 1 or max_frame < 16 or max_batch < 1 or idle_timeout <= 0:
            raise ValueError(
                "max_connections and max_batch must be at least 1, max_frame at least 16 "
                "bytes and idle_timeout positive"
            )
        self.settings = settings
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.max_frame = max_frame
        self.max_batch = max_batch
        self.batch_wait = batch_wait
        self.receive = receive or _default_receive()
        self.garbage = garbage or _default_garbage()
        self.stats = stats if stats is not None else Stats()
        self.port = 0
        self._active = 0
        self._reading: set[asyncio.Task[Any]] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._writer: Writer | None = None

    async def run(
        self,
        host: str,
        port: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        ready: Callable[[int], object] | None = None,
        stop: threading.Event,
    ) -> Stats:
        loop = asyncio.get_running_loop()
        engine = make_engine(self.settings.database_url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _durable_sqlite)
        writer = Writer(
            make_sessionmaker(engine),
            self.settings,
            loop,
            self.stats,
            receive=self.receive,
            max_batch=self.max_batch,
            batch_wait=self.batch_wait,
        )
        self._writer = writer
        writer.start()
        try:
            server = await asyncio.start_server(
                self._connection, host, port, ssl=ssl, limit=self.max_frame + len(VT + END)
            )
            try:
                self.port = server.sockets[0].getsockname()[1]
                log.info("MLLP listener on %s:%d%s", host, self.port, " (TLS)" if ssl else "")
                if ready is not None:
                    ready(self.port)
                while not stop.is_set():
                    await asyncio.sleep(STOP_POLL)
                log.info("stopping: finishing the messages in hand")
                server.close()
                await self._drain()
            finally:
                server.close()
        finally:
            writer.finish()
            await asyncio.to_thread(writer.thread.join)
            engine.dispose()
        log.info("MLLP listener stopped: %s", self.stats.line())
        return self.stats

    async def _drain(self) -> None:
        """No new frames; wait for the ACKs of those already received, then hang up."""
        self._stopping = True
        for task in list(self._reading):
            task.cancel()
        assert self._writer is not None
        self._writer.finish()
        if self._handlers:
            _, late = await asyncio.wait(set(self._handlers), timeout=DRAIN_TIMEOUT)
            for task in late:  # a peer that does not read its ACK
                task.cancel()
            if late:
                await asyncio.wait(late)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = _peer(writer)
        if self._active >= self.max_connections or self._stopping:
            self.stats.refused += 1
            log.warning("refused %s: %d connections already open", peer, self._active)
            writer.transport.abort()
            return
        self._active += 1
        self.stats.connections += 1
        self._handlers.add(task)
        try:
            await self._serve_connection(reader, writer, peer, task)
        except asyncio.CancelledError:
            log.debug("connection %s closed while stopping", peer)
        except (ConnectionError, OSError) as exc:
            log.info("connection %s lost: %s", peer, exc)
        except Exception:  # a fault here ends this connection, never the listener
            log.exception("connection %s closed after an unexpected error", peer)
        finally:
            self._active -= 1
            self._handlers.discard(task)
            self._reading.discard(task)
            writer.close()

    async def _serve_connection(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
        task: asyncio.Task[Any],
    ) -> None:
        while not self._stopping:
            self._reading.add(task)
            try:
                block = await asyncio.wait_for(self._read_frame(reader), self.idle_timeout)
            except TimeoutError:
                self.stats.timed_out += 1
                log.info("connection %s idle for %gs: closed", peer, self.idle_timeout)
                return
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    self.stats.truncated += 1
                    log.warning("connection %s closed mid-frame (%d bytes)", peer, len(exc.partial))
                return
            except asyncio.LimitOverrunError:
                self.stats.oversize += 1
                head = await reader.read(HEAD)
                if VT in head:
                    error = f"frame larger than {self.max_frame:,} bytes: not accepted"
                    ack = self.garbage(
                        _first_line(head[head.index(VT) + 1 :]), self.settings, error
                    )
                    self._count("AR")
                    writer.write(frame(ack))
                    await asyncio.wait_for(writer.drain(), self.idle_timeout)
                log.warning(
                    "connection %s sent more than %d bytes in one frame", peer, self.max_frame
                )
                return
            except _NoFrame:
                self.stats.unframed += 1
                log.warning("connection %s sent bytes outside any MLLP frame: closed", peer)
                return
            finally:
                self._reading.discard(task)
            code, ack, codec = await self._answer(block, peer)
            if not ack:
                return  # stopping, or not stored: no ACK, so the sender sends it again
            self._count(code)
            writer.write(frame(ack, codec))
            try:
                await asyncio.wait_for(writer.drain(), self.idle_timeout)
            except TimeoutError:
                log.info("connection %s does not read its ACKs: closed", peer)
                return

    async def _read_frame(self, reader: asyncio.StreamReader) -> bytes:
        data = await reader.readuntil(END)
        start = data.rfind(VT)
        if start < 0:
            raise _NoFrame
        return data[start + 1 : -len(END)]

    async def _answer(self, block: bytes, peer: str) -> tuple[str, str, str]:
        text, codec, error = decode(block)
        if text is None:
            log.warning("frame from %s rejected: %s", peer, error)
            return "AR", self.garbage(_first_line(block), self.settings, error), codec
        if self._stopping or self._writer is None:
            return "", "", codec
        future: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._writer.put(_Job(text, peer, utcnow(), future))
        code, ack = await future
        return code, ack, codec

    def _count(self, code: str) -> None:
        self.stats.messages += 1
        self.stats.codes[code] += 1


def _first_line(block: bytes) -> bytes:
    """What of a rejected frame is read for its ACK: the MSH segment at most (never parse a
    whole oversize or garbage frame on the event loop)."""
    head = block.removeprefix(BOM).lstrip(b"\r\n")[:HEAD]
    for separator in (b"\r", b"\n"):
        head = head.split(separator, 1)[0]
    return head


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def tls_context(cert: str, key: str) -> ssl_module.SSLContext:
    """A server TLS context from a PEM certificate (chain) and its private key."""
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl_module.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and Ctrl-C set ``stop`` (only the main thread can take signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the messages in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 2575,
    *,
    ssl: ssl_module.SSLContext | None = None,
    ready: Callable[[int], object] | threading.Event | None = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> Stats:
    """Listen until ``stop`` is set (or, without one, until SIGTERM or Ctrl-C); return what
    was done. ``ready`` is called with the bound port (``port=0``: the system picks one), or
    set when it is an Event. ``options`` go to :class:`Listener` (``max_connections``,
    ``idle_timeout``, ``max_frame``, ``max_batch``, ``batch_wait``; ``stats``: a
    :class:`Stats` to fill in, to watch while it runs)."""
    listener = Listener(settings, **options)
    stop = stop or threading.Event()
    on_ready: Callable[[int], object] | None
    if isinstance(ready, threading.Event):
        event_ = ready

        def on_ready(_port: int) -> None:
            event_.set()

    else:
        on_ready = ready
    with _stop_on_signals(stop):
        return asyncio.run(listener.run(host, port, ssl=ssl, ready=on_ready, stop=stop))
