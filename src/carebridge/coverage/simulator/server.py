"""The payer simulator over HTTP, for the http connector (``carebridge clearinghouse
simulate``): ``POST /`` (any path) with the request as the body; the Content-Type says what
it is (``application/edi-x12`` or ``application/fhir+json``) and the answer comes back with
the same type. A request the simulator cannot take is a 400 with the reason as text.

Meant for demos and tests on loopback: it has no authentication (a bearer token is accepted
and ignored) and answers one request per thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from carebridge.coverage import simulator
from carebridge.coverage.clearinghouse import ClearinghouseError

log = logging.getLogger("carebridge.simulator")
MAX_BODY = 5 * 1024 * 1024
Answer = Callable[[str, str], str]


class HttpStatus(Exception):
    """Raised by an ``answer`` function to reply with another status (tests use it)."""

    def __init__(self, status: int, body: str = "") -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body


def handler_for(answer: Answer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "CarebridgeSimulator/1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._reply(413, "text/plain", "request too large")
                return
            body = self.rfile.read(length).decode("utf-8", "replace")
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            try:
                text = answer(body, content_type)
            except HttpStatus as exc:
                self._reply(exc.status, "text/plain", exc.body or str(exc))
            except ClearinghouseError as exc:
                self._reply(400, "text/plain", str(exc))
            else:
                self._reply(200, content_type, text)

        def _reply(self, status: int, content_type: str, text: str) -> None:
            data = text.encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                log.info("the client left before the answer was sent")

        def log_message(self, format: str, *args: object) -> None:
            log.info("%s %s", self.address_string(), format % args)

    return Handler


def make_server(host: str, port: int, answer: Answer = simulator.answer) -> ThreadingHTTPServer:
    """A server bound to ``host:port`` (port 0: any free one); call ``serve_forever``."""
    server = ThreadingHTTPServer((host, port), handler_for(answer))
    server.daemon_threads = True
    return server
