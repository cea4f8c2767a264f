"""HTTP server of the Ollama stand-in (standard library only).

``server.py`` holds the HTTP plumbing (HTTP/1.1 keep-alive, Content-Length
replies, chunked NDJSON streams, TCP_NODELAY, abrupt closes for faults), the
routing and the ``/_standin/*`` control API.  The Ollama endpoints themselves
are in ``ollama_api.py``, the state in ``state.py``.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .backend import Backend, EchoBackend
from llm.engine.keepalive import BadRequest
from .ollama_api import OLLAMA_ROUTES
from .state import Settings, State

CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


class ClientGone(Exception):
    """The peer closed the connection while we were writing."""


class StandinServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: State, backend: Backend | None = None):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.backend = backend or EchoBackend()
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = super().get_request()
        # Ollama (Go) sets TCP_NODELAY; without it http.server's separate
        # header/body writes stall ~40 ms per reply on a kept-alive connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.state.count_connection()
        return sock, addr

    def server_close(self) -> None:
        super().server_close()
        self.state.close()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StandinServer

    # ------------------------------------------------------------- plumbing
    def send_response(self, code, message=None):
        # like Go's net/http: a Date header but no Server header
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
        # Not Ollama's: tells a client (the gateway's /status) which stand-in backend answers.
        self.send_header("X-Ollama-Standin", self.server.backend.name)

    def log_message(self, format, *args):  # noqa: A002 - signature from the stdlib
        sys.stderr.write("%s [%s] %s\n" % (self.address_string(), self.log_date_time_string(), format % args))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
        except CLIENT_GONE as exc:
            self.close_connection = True
            raise ClientGone() from exc

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self._write(body)

    def send_json(self, status: int, obj) -> None:
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()
        self.send_bytes(status, body, "application/json; charset=utf-8")

    def send_error_json(self, status: int, message: str) -> None:
        self.send_json(status, {"error": message})

    def send_not_found_page(self) -> None:
        self.send_bytes(404, b"404 page not found", "text/plain")

    def start_stream(self) -> None:
        """200 + NDJSON stream: chunked on HTTP/1.1 (like Ollama), else until close."""
        self._chunked = self.request_version == "HTTP/1.1"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        if self._chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self._streaming = True

    def stream_line(self, obj) -> None:
        data = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        self._write(b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data)

    def end_stream(self) -> None:
        if self._chunked:
            self._write(b"0\r\n\r\n")
        self._streaming = False

    def abort(self) -> None:
        """Close the connection now, without (the rest of) a response."""
        self.close_connection = True
        self._streaming = False
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def json_body(self) -> dict:
        if not self._body:
            raise BadRequest("missing request body")
        try:
            data = json.loads(self._body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadRequest(f"invalid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise BadRequest("request body must be a JSON object")
        return data

    # -------------------------------------------------------------- routing
    def _dispatch(self) -> None:
        self._streaming = False
        try:
            self._body = self._read_body()
            path = urlsplit(self.path).path
            if path.startswith("/_standin/"):
                self._control(path)
                return
            state = self.server.state
            state.count_request(path)
            faults = state.faults()
            if faults.get("down"):
                self.abort()
                return
            if faults.get("slow_seconds"):
                time.sleep(float(faults["slow_seconds"]))
            method = "GET" if self.command == "HEAD" else self.command
            route = OLLAMA_ROUTES.get((method, path))
            if route is None or (self.command == "HEAD" and path not in ("/", "/api/version", "/api/tags")):
                self.send_not_found_page()
                return
            route(self, faults)
        except BadRequest as exc:
            if self._streaming:
                self.abort()
            else:
                self.send_error_json(400, str(exc))
        except ClientGone:
            self.close_connection = True
        except Exception as exc:  # keep serving; report like Ollama's 500s
            self.log_error("internal error: %r", exc)
            if self._streaming:
                self.abort()
            else:
                try:
                    self.send_error_json(500, f"stand-in internal error: {exc}")
                except (ClientGone, OSError):
                    self.close_connection = True

    do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = do_PATCH = do_OPTIONS = _dispatch

    # ---------------------------------------------------------- control API
    def _control(self, path: str) -> None:
        state = self.server.state
        if path == "/_standin/counters" and self.command == "GET":
            self.send_json(200, state.snapshot())
        elif path == "/_standin/config" and self.command == "GET":
            self.send_json(200, state.configure({}))
        elif path == "/_standin/config" and self.command == "POST":
            self.send_json(200, state.configure(self.json_body()))
        elif path == "/_standin/reset" and self.command == "POST":
            data = self.json_body() if self._body.strip() else {}
            state.reset(state=bool(data.get("state")))
            self.send_json(200, state.snapshot())
        else:
            self.send_error_json(404, f"unknown control endpoint {self.command} {path}")


def make_server(host: str, port: int, settings: Settings | None = None,
                backend: Backend | None = None) -> StandinServer:
    backend = backend or EchoBackend()
    return StandinServer((host, port), State(settings or Settings(), backend), backend)
