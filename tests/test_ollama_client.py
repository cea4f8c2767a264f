"""llm/engine/ollama.py: what its errors may tell a client, and how it reads a streamed reply."""

import socket
import threading

import pytest

from llm.engine import ollama
from llm.engine.ollama import Client, OllamaResponseError, OllamaTimeout, OllamaUnavailable, _ChunkedBody


def test_an_unreachable_ollama_is_named_without_its_credentials():
    client = Client("http://admin:s3cret@127.0.0.1:9")
    with pytest.raises(OllamaUnavailable) as raised:
        client.version()
    assert str(raised.value) == "Ollama is not reachable at http://127.0.0.1:9"
    assert "s3cret" not in str(raised.value)


def test_embed_waits_as_long_as_a_generation_may_not_only_the_read_timeout(standin, settings):
    """/api/embed answers only once every vector is made: the read timeout of a plain call is too short."""
    settings.OLLAMA_READ_TIMEOUT = 0.2
    settings.LLM_GENERATION_TIMEOUT = 60
    standin.configure(faults={"slow_seconds": 0.5})
    client = Client(standin.url)
    reply = client.embed({"model": "llama3.2:1b", "input": ["slow but sure"], "keep_alive": 0})
    assert len(reply["embeddings"]) == 1
    with pytest.raises(OllamaTimeout):
        client.version()


# -- streamed replies ------------------------------------------------------------------------------

PROMPT = {"model": "llama3.2:1b", "prompt": "one two three four five six", "options": {"num_predict": 6},
          "keep_alive": 0}


def test_a_generation_comes_whole_in_batches_and_ends_with_done(standin):
    batches = list(Client(standin.url).generate(PROMPT))
    chunks = [chunk for batch in batches for chunk in batch]
    assert all(batches)
    assert [chunk["done"] for chunk in chunks] == [False] * 6 + [True]
    assert "".join(chunk["response"] for chunk in chunks) == standin.request("POST", "/api/generate", dict(
        PROMPT, stream=False))["response"]


def test_one_read_takes_every_chunk_that_came_meanwhile():
    """Ollama sends a chunk per token; a reader that comes back later finds them in one batch."""
    later = b"".join(_chunked(b'{"response":"%s","done":false}\n' % word) for word in (b"b", b"c", b"d"))
    with _Server([CHUNKED + _chunked(b'{"response":"a","done":false}\n'), PAUSE, later, PAUSE,
                  _chunked(b'{"response":"","done":true}\n') + b"0\r\n\r\n"]) as server:
        batches = Client(server.url).generate({"model": "m", "prompt": "p"})
        assert next(batches) == [{"response": "a", "done": False}]
        server.go()  # sent at once, as Ollama does when the reader is busy elsewhere
        assert [chunk["response"] for chunk in next(batches)] == ["b", "c", "d"]
        server.go()
        assert next(batches) == [{"response": "", "done": True}]


def test_one_read_takes_more_than_a_read_size_when_more_came(monkeypatch):
    """A reader that paused finds all that came, however much: a read of _READ_SIZE at a time
    would hold a fast model to that much per pause (the stand-in then waits on a full socket)."""
    monkeypatch.setattr(ollama, "_READ_SIZE", 64)
    later = b"".join(_chunked(b'{"response":"%d","done":false}\n' % n) for n in range(40))  # ~1.4 KB
    with _Server([CHUNKED + _chunked(b'{"response":"a","done":false}\n'), PAUSE, later, PAUSE,
                  _chunked(b'{"response":"","done":true}\n') + b"0\r\n\r\n"]) as server:
        batches = Client(server.url).generate({"model": "m", "prompt": "p"})
        assert next(batches) == [{"response": "a", "done": False}]
        server.go()
        assert [chunk["response"] for chunk in next(batches)] == [str(n) for n in range(40)]
        server.go()
        assert next(batches) == [{"response": "", "done": True}]


def test_the_connection_serves_the_next_call_once_a_reply_is_done(standin):
    opened = standin.counters()["connections"]
    client = Client(standin.url)
    client.version()
    for _ in range(3):
        for batch in client.generate(PROMPT):
            if batch[-1]["done"]:
                break  # the caller stops at done, as the worker does
    client.version()
    assert standin.counters()["connections"] == opened + 2  # the client's one, and this look's own


@pytest.mark.parametrize("cut", [1, 2, 3, 5, 8, 13])
def test_a_chunked_body_is_taken_apart_however_it_is_cut(cut):
    lines = [b'{"response":"%d"}\n' % n for n in range(5)]
    wire = _chunked(lines[0]) + b"7;name=value\r\n" + lines[1][:7] + b"\r\n" + _chunked(lines[1][7:] + lines[2])
    wire += _chunked(lines[3]) + _chunked(lines[4]) + b"0\r\nTrailer: x\r\n\r\n"
    body, taken = _ChunkedBody(), b""
    for at in range(0, len(wire), cut):
        assert not body.ended
        taken += body.feed(wire[at:at + cut])
    assert body.ended and taken == b"".join(lines)


def test_a_reply_that_is_not_chunked_is_read_too():
    body = b'{"response":"a","done":false}\n{"response":"","done":true}\n'
    with _Server([b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)]) as server:
        batches = Client(server.url).generate({"model": "m", "prompt": "p"})
        assert [chunk for batch in batches for chunk in batch] == [{"response": "a", "done": False},
                                                                  {"response": "", "done": True}]


def test_a_reply_cut_off_before_its_end_is_a_broken_connection():
    with _Server([CHUNKED + _chunked(b'{"response":"a","done":false}\n'), PAUSE, HANG_UP]) as server:
        batches = Client(server.url).generate({"model": "m", "prompt": "p"})
        assert next(batches)
        server.go()
        with pytest.raises(OllamaUnavailable, match="broke off"):
            next(batches)


def test_an_error_line_in_the_stream_is_ollamas_error():
    with _Server([CHUNKED + _chunked(b'{"error":"model ran out of memory"}\n') + b"0\r\n\r\n"]) as server:
        with pytest.raises(OllamaResponseError, match="out of memory"):
            next(Client(server.url).generate({"model": "m", "prompt": "p"}))


def _chunked(data):
    return b"%x\r\n%s\r\n" % (len(data), data)


CHUNKED = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
PAUSE, HANG_UP = object(), object()


class _Server:
    """An HTTP server for one request, whose reply is `steps`: bytes sent as one write each, PAUSE
    (until the test calls `go()`) and HANG_UP (close the connection)."""

    def __init__(self, steps):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.steps, self.resume = steps, threading.Semaphore(0)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        for _ in self.steps:
            self.resume.release()
        self.thread.join(10)
        self.listener.close()

    def go(self):
        self.resume.release()

    def _serve(self):
        connection, _ = self.listener.accept()
        with connection:
            request = b""
            while b"\r\n\r\n" not in request or not request.endswith(b"}"):  # the head and its JSON body
                request += connection.recv(65536)
            for step in self.steps:
                if step is PAUSE:
                    self.resume.acquire()
                elif step is HANG_UP:
                    return
                else:
                    connection.sendall(step)
