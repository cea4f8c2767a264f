"""The one place that speaks HTTP to Ollama (its API as in ollama/ollama docs/api.md).

Every call has explicit timeouts and every failure surfaces as an OllamaError, so
callers deal with one family of exceptions and never with `requests` directly.
"""

import json
import os
import threading
from urllib.parse import urlsplit, urlunsplit

import requests
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
        """Chunks of a generation as Ollama streams them; the last has done=true."""
        return self._stream("/api/generate", dict(payload, stream=True))

    def chat(self, payload):
        return self._stream("/api/chat", dict(payload, stream=True))

    def pull(self, model):
        """Progress lines of a pull; Ollama reports a failure as an `error` line."""
        return self._stream("/api/pull", {"model": model, "stream": True})

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

    def _stream(self, path, payload):
        response = self._send("POST", path, payload, stream=True)
        with response:
            try:
                lines = response.iter_lines()
                for line in lines:
                    if not line:
                        continue
                    chunk = json.loads(line)
                    if "error" in chunk:
                        raise OllamaResponseError(chunk["error"])
                    if chunk.get("done"):
                        # Read up to the end of the body (the chunked encoding's last, empty chunk), which hands
                        # the connection back for the next call: closed half-read, it is dropped.
                        for _ in lines:
                            pass
                    yield chunk
            except requests.Timeout as exc:
                raise OllamaTimeout(f"Ollama stopped sending for {settings.OLLAMA_READ_TIMEOUT:g}s") from exc
            except (requests.RequestException, ValueError) as exc:
                raise OllamaUnavailable("The connection to Ollama broke off in the middle of a reply") from exc


def _error_from(response):
    try:
        message = response.json().get("error") or response.text
    except ValueError:
        message = response.text.strip() or response.reason
    kind = ModelNotFound if response.status_code == 404 else OllamaResponseError
    return kind(message, status_code=response.status_code)
