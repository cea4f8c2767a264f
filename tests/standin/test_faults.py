"""The stand-in's fault switches and its HTTP as clients see it (plain pytest, no Django).

One stand-in runs per module (see conftest.py) with short timings; it is reset
to its start-up state before each test.  Nothing sleeps and hopes: anything
that happens later is polled for with a deadline.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from http.client import HTTPConnection

import pytest
import requests

from llm.standin.server import make_server
from tests.standin.calls import generate, ps_names


# ------------------------------------------------------------------ faults
def test_fault_down_closes_every_ollama_connection_but_control_keeps_working(standin, http):
    standin.configure(faults={"down": True})
    for call in (lambda: http.get(standin.url + "/api/version"), lambda: generate(standin, http)):
        with pytest.raises(requests.ConnectionError):
            call()
    assert standin.counters()["requests"]["/api/version"] == 1
    standin.configure(faults={})
    assert http.get(standin.url + "/api/version").status_code == 200


def test_fault_slow_seconds_delays_every_reply(standin, http):
    standin.configure(faults={"slow_seconds": 0.3})
    started = time.monotonic()
    assert http.get(standin.url + "/api/tags").status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fault_drop_after_chunks_cuts_a_streamed_generation(standin, http):
    standin.configure(faults={"drop_after_chunks": 3})
    received = []
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with generate(standin, http, live=True) as r:
            for line in r.iter_lines():
                received.append(json.loads(line))
    assert [line["done"] for line in received] == [False, False, False]
    assert standin.wait_for(lambda c: c["active_generations"] == 0)["generations"] == 1


def test_fault_drop_after_chunks_closes_a_non_streamed_generation_without_answer(standin, http):
    standin.configure(faults={"drop_after_chunks": 2})
    with pytest.raises(requests.ConnectionError):
        generate(standin, http, stream=False)


def test_fault_drop_after_chunks_cuts_a_pull(standin, http):
    standin.configure(installed=[], faults={"drop_after_chunks": 2})
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        with http.post(standin.url + "/api/pull", json={"model": "llama3.2:1b"}, stream=True) as r:
            list(r.iter_lines())
    assert http.get(standin.url + "/api/tags").json()["models"] == []


def test_fault_error_answers_generate_and_chat_with_that_status(standin, http):
    standin.configure(faults={"error": {"status": 503, "message": "server busy"}})
    r = generate(standin, http)
    assert r.status_code == 503 and r.json() == {"error": "server busy"}
    r = http.post(standin.url + "/api/chat", json={"model": "llama3.2:1b", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 503
    assert http.get(standin.url + "/api/tags").status_code == 200


def test_fault_load_oom_fails_every_load(standin, http):
    standin.configure(faults={"load_oom": True})
    r = generate(standin, http)
    assert r.status_code == 500 and r.json()["error"].startswith("model requires more system memory (1.2 GiB)")
    assert standin.counters()["load_failures"] == 1
    standin.configure(faults={})
    assert generate(standin, http, stream=False).status_code == 200


# ---------------------------------------------------------- HTTP behaviour
def test_every_accepted_connection_has_tcp_nodelay_as_ollamas_do():
    """Without it, http.server's separate header and body writes stall ~40 ms per reply on a
    kept-alive connection (Nagle's algorithm against the client's delayed ACK)."""
    server = make_server("127.0.0.1", 0)
    try:
        with socket.create_connection(server.server_address[:2], timeout=5):
            accepted, _ = server.get_request()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        server.server_close()


def test_curl_sees_stream_chunks_live(standin):
    curl = shutil.which("curl")
    if curl is None:
        if os.environ.get("CI") == "true":  # as the deployment checks: CI runs bin/test as root, which installs it
            pytest.fail("curl is missing: bin/test installs it (Debian package curl) when run as root")
        pytest.skip("curl is missing: bin/test installs it (Debian package curl) when run as root")
    standin.configure(token_seconds=0.05)
    body = json.dumps({"model": "llama3.2:1b", "prompt": "a", "options": {"num_predict": 20}})
    proc = subprocess.Popen([curl, "-sN", "--noproxy", "*", standin.url + "/api/generate", "-d", body],
                            stdout=subprocess.PIPE)
    try:
        first = json.loads(proc.stdout.readline())
        assert first["done"] is False
        assert standin.counters()["active_generations"] == 1  # still producing
        lines = [json.loads(line) for line in proc.stdout]
    finally:
        proc.wait(10)
    assert lines[-1]["done"] is True and len(lines) == 20


def test_the_official_ollama_client_works(standin):
    ollama = pytest.importorskip("ollama")
    client = ollama.Client(host=standin.url, trust_env=False)
    assert "llama3.2:1b" in [m.model for m in client.list().models]
    reply = client.generate(model="llama3.2:1b", prompt="hi there")
    assert reply.response == "echo: hi there" and reply.done_reason == "stop"
    parts = list(client.chat(model="llama3.2:1b", messages=[{"role": "user", "content": "yo"}], stream=True))
    assert "".join(p.message.content for p in parts) == "echo: yo"
    assert [m.model for m in client.ps().models] == ["llama3.2:1b"]
    assert client.show("llama3.2:1b").capabilities == ["completion", "tools", "thinking"]
    with pytest.raises(ollama.ResponseError) as info:
        client.generate(model="nope:1b", prompt="x")
    assert info.value.status_code == 404


# ------------------------------------------------------- client behaviour
def test_a_client_that_hangs_up_mid_stream_ends_the_generation(standin, http):
    with generate(standin, http, options={"num_predict": 2000}, live=True) as r:
        next(r.iter_lines())
    # 2000 tokens would take 10 s; the hang-up is noticed at the next write
    counters = standin.wait_for(lambda c: c["active_generations"] == 0, timeout=2)
    assert counters["generations"] == 1


def test_an_unload_during_a_generation_takes_effect_when_it_ends(standin, http):
    with generate(standin, http, options={"num_predict": 60}, live=True) as r:
        lines = r.iter_lines()
        next(lines)
        unload = http.post(standin.url + "/api/generate", json={"model": "llama3.2:1b", "keep_alive": 0})
        assert unload.json()["done_reason"] == "unload"
        assert ps_names(standin, http) == ["llama3.2:1b"]  # still busy
        assert json.loads(list(lines)[-1])["done"] is True
    assert ps_names(standin, http) == []


def test_an_http_1_0_client_gets_the_stream_until_close(standin):
    class HTTP10Connection(HTTPConnection):
        _http_vsn, _http_vsn_str = 10, "HTTP/1.0"

    conn = HTTP10Connection(*standin.host_port, timeout=5)
    conn.request("POST", "/api/generate", body=json.dumps({"model": "llama3.2:1b", "prompt": "a b"}),
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    lines = [json.loads(line) for line in response.read().splitlines()]
    conn.close()
    assert "".join(line["response"] for line in lines) == "echo: a b" and lines[-1]["done"] is True
