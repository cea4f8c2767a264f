"""The one place that speaks HTTP to Ollama (its API as in ollama/ollama docs/api.md).

Every call has explicit timeouts and every failure surfaces as an OllamaError, so
callers deal with one family of exceptions and never with `requests` directly.
"""

import http.client
import json
import os
import threading
from contextlib import closing
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from django.conf import settings


class OllamaError(Exception):
    """Ollama could not do what was asked. The message is fit for a client."""


class OllamaUnavailable(OllamaError):
    """Nothing answered, or the connection broke."""


class OllamaTimeout(OllamaUnavailable):
    """Ollama took longer than the configured timeout."""


class OllamaResponseError(OllamaError):
    """Ollama answered with an error of its own."""

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


class ModelNotFound(OllamaResponseError):
    pass


_local = threading.local()


def client(host=None):
    """A client for this thread to the Ollama at `host` (a node's URL; None: the first node, which
    is OLLAMA_HOST unless LLM_NODES says otherwise). `requests.Session` keeps connections alive
    but is not meant to be shared between threads."""
    if host is None:
        host = next(iter(settings.LLM_NODES.values())) if settings.LLM_NODES else settings.OLLAMA_HOST
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    current = clients.get(host)
    if current is None:
        current = clients[host] = Client(host)
    return current


class Client:
    def __init__(self, host):
        self.host = host.rstrip("/")
        self.session = requests.Session()
        # What requests would read from the environment at every call (proxies, a CA bundle,
        # .netrc), read once: the host does not change.
        self.session.proxies = requests.utils.get_environ_proxies(self.host)
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self.session.auth = requests.utils.get_netrc_auth(self.host)
        self.session.trust_env = False
        self.adapter = self.session.get_adapter(self.host)
        # Credentials in the URL (http://user:password@host) become Basic auth, as requests would make them.
        self.auth = self.session.auth or (requests.utils.get_auth_from_url(self.host) if "@" in self.host else None)
        # What error messages may show: never a user:password@ from OLLAMA_HOST.
        parts = urlsplit(self.host)
        self.shown_host = urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))

    # -- plain calls ----------------------------------------------------------

    def version(self):
        return self._call("GET", "/api/version")["version"]

    def tags(self):
        """Installed models, as Ollama lists them."""
        return self._call("GET", "/api/tags").get("models") or []

    def tags_and_standin(self):
        """`tags()`, and the backend the project's Ollama stand-in names in a header of every answer
        ("echo" or "llama"; Ollama: None), from one call."""
        response = self._send("GET", "/api/tags", None)
        try:
            models = (response.json() if response.content else {}).get("models") or []
        except ValueError as exc:
            raise OllamaResponseError("Ollama sent something that is not JSON from /api/tags") from exc
        return models, response.headers.get("X-Ollama-Standin")

    def ps(self):
        """Models resident in memory now."""
        return self._call("GET", "/api/ps").get("models") or []

    def show(self, model):
        return self._call("POST", "/api/show", {"model": model})

    def delete(self, model):
        self._call("DELETE", "/api/delete", {"model": model})

    def load(self, model, keep_alive):
        """An empty prompt makes Ollama load the model and answer at once."""
        return self._call("POST", "/api/generate", {"model": model, "keep_alive": keep_alive, "stream": False})

    def unload(self, model):
        return self._call("POST", "/api/generate", {"model": model, "keep_alive": 0, "stream": False})

    def embed(self, payload):
        """Ollama's /api/embed: {"model", "embeddings": [[...]], counters}. One answer, no
        stream, so a large batch may take as long as a generation may (LLM_GENERATION_TIMEOUT)."""
        return self._call("POST", "/api/embed", payload, read_timeout=settings.LLM_GENERATION_TIMEOUT)

    # -- streamed calls -------------------------------------------------------

    def generate(self, payload):
        """A generation as Ollama streams it, in batches: each a list of the chunks that had come
        when the stream was read (at least one); the last chunk has done=true. Reading less often
        makes bigger batches (see `_batches`)."""
        return self._batches("/api/generate", dict(payload, stream=True))

    def chat(self, payload):
        return self._batches("/api/chat", dict(payload, stream=True))

    def pull(self, model):
        """Progress lines of a pull, one by one; Ollama reports a failure as an `error` line."""
        with closing(self._batches("/api/pull", {"model": model, "stream": True})) as batches:
            for batch in batches:
                yield from batch

    # -- plumbing -------------------------------------------------------------

    def _timeout(self, read_timeout=None):
        return (settings.OLLAMA_CONNECT_TIMEOUT, read_timeout or settings.OLLAMA_READ_TIMEOUT)

    def _send(self, method, path, payload, stream=False, read_timeout=None):
        """One call, through the session's pool of kept connections.

        The request is prepared here and handed to the session's adapter: `Session.request`
        would merge cookies, hooks and settings anew at every call (about half a millisecond
        of CPU, every generation pays it), and a call to Ollama has none of them.
        """
        request = requests.PreparedRequest()
        request.prepare_method(method)
        request.url = self.host + path  # a URL already: the host comes from the settings, the path is ours
        request.prepare_headers(self.session.headers)
        request.prepare_body(None, None, payload)
        if self.auth:
            request.prepare_auth(self.auth)
        try:
            response = self.adapter.send(
                request, stream=stream, timeout=self._timeout(read_timeout), verify=self.session.verify,
                proxies=self.session.proxies,
            )
        except requests.Timeout as exc:
            raise OllamaTimeout(f"Ollama at {self.shown_host} did not answer in time") from exc
        except requests.RequestException as exc:
            raise OllamaUnavailable(f"Ollama is not reachable at {self.shown_host}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def _call(self, method, path, payload=None, read_timeout=None):
        response = self._send(method, path, payload, read_timeout=read_timeout)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise OllamaResponseError(f"Ollama sent something that is not JSON from {path}") from exc

    def _batches(self, path, payload):
        """The JSON lines of a streamed reply, in lists: each read takes all the lines that had come.

        Ollama sends each chunk as it is made (a token), and requests' line iterator reads
        them one by one, so the reader wakes at every token; here one read takes the socket's
        whole buffer, and a caller that pauses between reads wakes once for the tokens of its
        pause (llm/queue/runner.py: on a CPU-only box each wake-up is time taken from the model).
        """
        response = self._send("POST", path, payload, stream=True)
        with response:
            try:
                lines, arrivals = _Lines(), _arrivals(response)
                for data in arrivals:
                    if batch := _parsed(lines.feed(data)):
                        if batch[-1].get("done"):
                            for _ in arrivals:  # up to the end of the body: the connection serves the next call
                                pass
                        yield batch
                if batch := _parsed([lines.partial]):  # a last line without its newline
                    yield batch
            except (TimeoutError, urllib3.exceptions.ReadTimeoutError, requests.Timeout) as exc:
                raise OllamaTimeout(f"Ollama stopped sending for {settings.OLLAMA_READ_TIMEOUT:g}s") from exc
            except (OSError, ValueError, http.client.HTTPException, urllib3.exceptions.HTTPError,
                    requests.RequestException) as exc:
                raise OllamaUnavailable("The connection to Ollama broke off in the middle of a reply") from exc


def _parsed(lines):
    """The JSON lines as objects: one parse for all of them, as a list."""
    lines = [line for line in lines if line.strip()]
    chunks = json.loads(b"[" + b",".join(lines) + b"]") if lines else []
    for chunk in chunks:
        if "error" in chunk:
            raise OllamaResponseError(chunk["error"])
    return chunks


def _arrivals(response):
    """The body of a streamed reply as it comes: each piece all that had come when read (a read
    waits for the first byte only), up to the end of the body.

    A chunked body (Ollama's streams) is read from http.client's buffered socket and taken apart
    here (`_ChunkedBody`): http.client and urllib3 return one HTTP chunk per read, and do not
    tell whether the next one has come, so a caller cannot take what came without waiting for
    more. The end of the body is read too, which hands the connection back for the next call
    (closed half-read, it is dropped). Any other body: urllib3's `read1`, one read each.
    """
    raw = response.raw
    if not (raw.chunked and "content-encoding" not in raw.headers and getattr(raw._fp, "fp", None)):
        while data := raw.read1(_READ_SIZE):
            yield data
        return
    body, socket_file = _ChunkedBody(), raw._fp.fp
    while not body.ended:
        payload = b""
        while True:
            data = socket_file.read1(_READ_SIZE)
            if not data:
                raise http.client.IncompleteRead(b"")
            payload += body.feed(data)
            if body.ended or len(data) < _READ_SIZE:
                break  # a full read leaves more behind: a caller pausing between reads is not held to _READ_SIZE a read
        if payload:
            yield payload
    raw._fp.close()  # what urllib3 does at the end of a chunked body: the response is read
    raw.release_conn()


_READ_SIZE = 1 << 16


class _ChunkedBody:
    """Takes a chunked body apart (RFC 9112, 7.1), fed the bytes as they come: `feed()` returns
    the data of the chunks it completed; `ended` once the last chunk and its trailer came."""

    def __init__(self):
        self.pending = bytearray()
        self.ended = False

    def feed(self, data):
        self.pending += data
        pending, chunks, start = self.pending, [], 0
        while not self.ended:
            size_end = pending.find(b"\n", start)
            if size_end < 0:
                break
            size = int(bytes(pending[start:size_end]).split(b";", 1)[0], 16)  # a ValueError: not chunked
            if size == 0:  # the last chunk, then trailer lines up to an empty one
                if (end := _after_trailer(pending, size_end + 1)) < 0:
                    break
                start, self.ended = end, True
            elif len(pending) >= (end := size_end + 1 + size + 2):  # the chunk and its CRLF came whole
                chunks.append(bytes(pending[size_end + 1:end - 2]))
                start = end
            else:
                break
        del pending[:start]
        return b"".join(chunks)


def _after_trailer(pending, start):
    """Where the trailer section that begins at `start` ends (after its empty line); -1 while it has not all come."""
    while (line_end := pending.find(b"\n", start)) >= 0:
        if not pending[start:line_end].strip():
            return line_end + 1
        start = line_end + 1
    return -1


class _Lines:
    """NDJSON split into lines across the pieces it comes in."""

    def __init__(self):
        self.partial = b""

    def feed(self, data):
        *lines, self.partial = (self.partial + data).split(b"\n")
        return lines


def _error_from(response):
    try:
        message = response.json().get("error") or response.text
    except ValueError:
        message = response.text.strip() or response.reason
    kind = ModelNotFound if response.status_code == 404 else OllamaResponseError
    return kind(message, status_code=response.status_code)
