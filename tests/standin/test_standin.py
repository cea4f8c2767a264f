"""Tests of the Ollama stand-in itself (plain pytest, no Django).

One stand-in runs per module (see conftest.py) with short timings; it is reset
to its start-up state before each test.  Nothing sleeps and hopes: anything
that happens later is polled for with a deadline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import datetime, timezone
from http.client import HTTPConnection

import pytest
import requests

from llm.standin.__main__ import build_settings, parse_args
from llm.engine.keepalive import FOREVER, BadRequest, parse_keep_alive
from tests.support.standin import Standin

DEFAULT_MODELS = {
    "llama3.2:1b": (1_321_098_329, "1.2B"),
    "llama3.2:3b": (2_019_393_189, "3.2B"),
    "phi4-mini:latest": (2_491_876_774, "3.8B"),
    "qwen2.5-coder:3b": (1_929_912_432, "3.1B"),
    "qwen3:4b": (2_497_293_918, "4.0B"),
    "gemma3:4b": (3_338_801_804, "4.3B"),
}
FINAL_STATS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration",
               "eval_count", "eval_duration")


def poll(condition, timeout=5.0, interval=0.01, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        time.sleep(interval)


def ps_names(standin, http):
    return [m["name"] for m in http.get(standin.url + "/api/ps").json()["models"]]


def generate(standin, http, model="llama3.2:1b", prompt="why is the sky blue", live=False, **body):
    """POST /api/generate; ``body`` goes into the JSON, ``live`` reads the reply incrementally."""
    return http.post(standin.url + "/api/generate", json={"model": model, "prompt": prompt, **body}, stream=live)


def stream_lines(response):
    return [json.loads(line) for line in response.iter_lines() if line]


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# ------------------------------------------------------------------ basics
def test_root_says_ollama_is_running(standin, http):
    r = http.get(standin.url + "/")
    assert r.status_code == 200 and r.text == "Ollama is running"


def test_version_answers_get_and_head(standin, http):
    assert http.get(standin.url + "/api/version").json() == {"version": "0.12.6"}
    head = http.head(standin.url + "/api/version")
    assert head.status_code == 200 and head.content == b""


def test_an_unknown_path_is_a_plain_text_404_like_ollama(standin, http):
    r = http.get(standin.url + "/api/nope")
    assert r.status_code == 404 and r.text == "404 page not found"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert http.get(standin.url + "/api/generate").status_code == 404  # wrong method


def test_tags_lists_the_six_default_models_in_ollamas_shape(standin, http):
    models = http.get(standin.url + "/api/tags").json()["models"]
    assert {m["name"]: (m["size"], m["details"]["parameter_size"]) for m in models} == DEFAULT_MODELS
    for m in models:
        assert m["model"] == m["name"]
        assert len(m["digest"]) == 64
        parse_time(m["modified_at"])
        assert set(m["details"]) == {"parent_model", "format", "family", "families",
                                     "parameter_size", "quantization_level"}
        assert m["details"]["format"] == "gguf"


def test_ps_is_empty_until_a_model_loads_and_then_shows_it_with_its_expiry(standin, http):
    assert http.get(standin.url + "/api/ps").json() == {"models": []}
    generate(standin, http, stream=False).raise_for_status()
    (model,) = http.get(standin.url + "/api/ps").json()["models"]
    assert model["name"] == model["model"] == "llama3.2:1b"
    assert model["size"] == DEFAULT_MODELS["llama3.2:1b"][0] and model["size_vram"] == 0
    assert len(model["digest"]) == 64 and model["details"]["family"] == "llama"
    remaining = (parse_time(model["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert 240 < remaining <= 300  # default keep_alive 5m


def test_show_describes_an_installed_model(standin, http):
    r = http.post(standin.url + "/api/show", json={"model": "qwen3:4b"})
    assert r.status_code == 200
    body = r.json()
    for key in ("modelfile", "parameters", "template", "details", "model_info", "capabilities"):
        assert key in body
    assert body["capabilities"] == ["completion", "tools", "thinking"]
    assert body["details"]["parameter_size"] == "4.0B"


# -------------------------------------------------------------- generation
def test_streamed_generate_sends_each_token_as_it_is_produced(standin, http):
    body = {"model": "llama3.2:1b", "prompt": "one two three", "options": {"num_predict": 40}}
    with http.post(standin.url + "/api/generate", json=body, stream=True) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/x-ndjson"
        lines = r.iter_lines()
        first = json.loads(next(lines))
        # the first chunk is here while the generation is still producing tokens
        assert standin.counters()["active_generations"] == 1
        rest = [json.loads(line) for line in lines if line]
    assert first == {"model": "llama3.2:1b", "created_at": first["created_at"], "response": "echo:", "done": False}
    chunks, final = rest[:-1], rest[-1]
    assert len(chunks) == 39 and all(not c["done"] for c in chunks)
    assert "".join(c["response"] for c in [first, *chunks]).startswith("echo: one two three one two")
    assert final["done"] is True and final["done_reason"] == "length" and final["response"] == ""
    assert final["eval_count"] == 40 and isinstance(final["context"], list)
    for key in FINAL_STATS:
        assert isinstance(final[key], int) and final[key] > 0, key
    assert final["load_duration"] >= 0.05e9 and final["eval_duration"] >= 40 * 0.005e9
    assert final["total_duration"] >= final["load_duration"] + final["eval_duration"]
    assert standin.counters()["active_generations"] == 0


def test_non_streamed_generate_returns_one_object_with_the_whole_text(standin, http):
    r = generate(standin, http, prompt="why is the sky blue", stream=False)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["response"] == "echo: why is the sky blue"
    assert body["done"] is True and body["done_reason"] == "stop"
    assert body["eval_count"] == 6 and body["model"] == "llama3.2:1b"
    assert all(key in body for key in FINAL_STATS + ("context", "created_at"))


def test_num_predict_defaults_to_24_tokens_and_a_reached_limit_says_length(standin, http):
    long_prompt = " ".join(f"w{i}" for i in range(40))
    body = generate(standin, http, prompt=long_prompt, stream=False).json()
    assert body["eval_count"] == 24 and body["done_reason"] == "length"
    body = generate(standin, http, prompt="a b", stream=False, options={"num_predict": 5}).json()
    assert body["response"] == "echo: a b a b" and body["done_reason"] == "length"


def test_stop_option_cuts_the_reply(standin, http):
    body = generate(standin, http, prompt="alpha beta gamma delta", stream=False,
                    options={"stop": ["gamma"]}).json()
    assert body["response"] == "echo: alpha beta " and body["done_reason"] == "stop"


def test_chat_streams_assistant_messages_and_answers_unstreamed(standin, http):
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello there"}]
    with http.post(standin.url + "/api/chat", json={"model": "qwen3:4b", "messages": messages},
                   stream=True) as r:
        lines = stream_lines(r)
    assert [line["message"] for line in lines[:-1]] == [
        {"role": "assistant", "content": "echo:"},
        {"role": "assistant", "content": " hello"},
        {"role": "assistant", "content": " there"},
    ]
    final = lines[-1]
    assert final["done"] is True and final["done_reason"] == "stop" and "context" not in final
    assert final["message"] == {"role": "assistant", "content": ""}
    body = http.post(standin.url + "/api/chat",
                     json={"model": "qwen3:4b", "messages": messages, "stream": False}).json()
    assert body["message"] == {"role": "assistant", "content": "echo: hello there"}
    assert all(key in body for key in FINAL_STATS)
    counters = standin.counters()
    assert counters["generations_by_model"] == {"qwen3:4b": 2}
    assert counters["prompts"] == {"hello there": 2}


def test_model_names_normalise_like_ollama_and_replies_echo_the_name_sent(standin, http):
    assert generate(standin, http, model="phi4-mini", stream=False).json()["model"] == "phi4-mini"
    assert generate(standin, http, model="phi4-mini:latest", stream=False).json()["model"] == "phi4-mini:latest"
    assert ps_names(standin, http) == ["phi4-mini:latest"]
    counters = standin.counters()
    assert counters["loads"] == 1 and counters["generations_by_model"] == {"phi4-mini:latest": 2}


def test_an_unknown_model_is_a_404_in_generate_chat_and_show(standin, http):
    expected = {"error": 'model "nope:7b" not found, try pulling it first'}
    r = generate(standin, http, model="nope:7b")
    assert r.status_code == 404 and r.json() == expected
    r = http.post(standin.url + "/api/chat", json={"model": "nope:7b", "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 404 and r.json() == expected
    r = http.post(standin.url + "/api/show", json={"model": "nope:7b"})
    assert r.status_code == 404 and r.json() == expected


def test_a_request_without_a_model_is_a_400(standin, http):
    r = http.post(standin.url + "/api/generate", json={"prompt": "x"})
    assert r.status_code == 400 and "error" in r.json()


def test_concurrent_generations_are_counted(standin, http):
    standin.configure(token_seconds=0.02)
    barrier = threading.Barrier(3)
    results = []

    def run(prompt):
        with requests.Session() as s:
            s.trust_env = False
            barrier.wait()
            results.append(s.post(standin.url + "/api/generate", json={
                "model": "llama3.2:1b", "prompt": prompt, "stream": False, "options": {"num_predict": 10}}).json())

    threads = [threading.Thread(target=run, args=(p,)) for p in ("first", "second", "third")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    counters = standin.counters()
    assert len(results) == 3 and counters["generations"] == 3
    assert counters["max_concurrent_generations"] >= 2 and counters["active_generations"] == 0
    assert counters["loads"] == 1  # concurrent requests share one load
    assert counters["prompts"] == {"first": 1, "second": 1, "third": 1}


# ------------------------------------------------------ loading and expiry
@pytest.mark.parametrize("endpoint", ["generate", "chat"])
def test_an_empty_request_loads_the_model_and_keep_alive_0_unloads_it(standin, http, endpoint):
    empty = {"prompt": ""} if endpoint == "generate" else {"messages": []}
    url = f"{standin.url}/api/{endpoint}"
    body = http.post(url, json={"model": "gemma3:4b", **empty}).json()
    assert body["done"] is True and body["done_reason"] == "load"
    assert ps_names(standin, http) == ["gemma3:4b"]
    body = http.post(url, json={"model": "gemma3:4b", "keep_alive": 0, **empty}).json()
    assert body["done"] is True and body["done_reason"] == "unload"
    assert ps_names(standin, http) == []
    counters = standin.counters()
    assert (counters["loads"], counters["unloads"], counters["generations"]) == (1, 1, 0)


def test_keep_alive_0_on_a_generation_unloads_right_after_the_reply(standin, http):
    with generate(standin, http, keep_alive=0, live=True) as r:
        lines = stream_lines(r)
    assert lines[-1]["done"] is True
    assert ps_names(standin, http) == []
    assert standin.counters()["unloads"] == 1


def test_keep_alive_of_one_second_expires(standin, http):
    generate(standin, http, keep_alive="1s", stream=False).raise_for_status()
    assert ps_names(standin, http) == ["llama3.2:1b"]
    started = time.monotonic()
    poll(lambda: ps_names(standin, http) == [], timeout=5, message="model expiry")
    assert time.monotonic() - started > 0.5
    assert standin.wait_for(lambda c: c["unloads"] == 1)["resident"] == []


@pytest.mark.parametrize("keep_alive, seconds", [("30s", 30), ("5m", 300), ("1h", 3600), (90, 90), ("1m30s", 90)])
def test_keep_alive_accepts_go_durations_and_seconds(standin, http, keep_alive, seconds):
    generate(standin, http, prompt="", keep_alive=keep_alive).raise_for_status()
    (model,) = http.get(standin.url + "/api/ps").json()["models"]
    remaining = (parse_time(model["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert seconds - 5 < remaining <= seconds


def test_a_negative_keep_alive_keeps_the_model_forever(standin, http):
    generate(standin, http, prompt="", keep_alive=-1).raise_for_status()
    (model,) = http.get(standin.url + "/api/ps").json()["models"]
    assert parse_time(model["expires_at"]).year > 2200


def test_a_malformed_keep_alive_is_a_400(standin, http):
    r = generate(standin, http, keep_alive="soon")
    assert r.status_code == 400 and "invalid duration" in r.json()["error"]


def test_keep_alive_parsing_rules():
    assert parse_keep_alive(None) == 300
    assert parse_keep_alive(0) == 0 and parse_keep_alive("0") == 0
    assert parse_keep_alive("500ms") == 0.5 and parse_keep_alive(2.5) == 2.5
    assert parse_keep_alive(-1) == FOREVER and parse_keep_alive("-1m") == FOREVER
    with pytest.raises(BadRequest, match="missing unit"):
        parse_keep_alive("300")


# ------------------------------------------------------------- RAM budget
def test_loading_a_second_large_model_over_the_budget_fails_with_ollamas_memory_error(standin, http):
    generate(standin, http, model="gemma3:4b", stream=False).raise_for_status()
    r = generate(standin, http, model="qwen3:4b")
    assert r.status_code == 500
    assert r.json() == {"error": "model requires more system memory (2.3 GiB) than is available (911.9 MiB)"}
    assert ps_names(standin, http) == ["gemma3:4b"]  # no automatic eviction
    counters = standin.counters()
    assert counters["load_failures"] == 1 and counters["max_resident"] == 1
    assert counters["generations"] == 1 and counters["active_generations"] == 0


def test_after_an_unload_the_other_large_model_fits(standin, http):
    generate(standin, http, model="gemma3:4b", prompt="").raise_for_status()
    generate(standin, http, model="gemma3:4b", prompt="", keep_alive=0).raise_for_status()
    assert generate(standin, http, model="qwen3:4b", stream=False).status_code == 200
    assert standin.counters()["max_resident"] == 1


def test_max_resident_counts_two_when_both_fit(standin, http):
    generate(standin, http, model="llama3.2:1b", stream=False).raise_for_status()
    generate(standin, http, model="qwen2.5-coder:3b", stream=False).raise_for_status()
    assert sorted(ps_names(standin, http)) == ["llama3.2:1b", "qwen2.5-coder:3b"]
    counters = standin.counters()
    assert counters["max_resident"] == 2 and counters["resident"] == ["llama3.2:1b", "qwen2.5-coder:3b"]


def test_max_resident_includes_a_model_that_is_still_loading(standin, http):
    generate(standin, http, model="llama3.2:1b", prompt="").raise_for_status()
    standin.configure(load_seconds=1.0)

    def load_second():
        with requests.Session() as session:
            session.trust_env = False
            generate(standin, session, model="llama3.2:3b", prompt="")

    loading = threading.Thread(target=load_second)
    loading.start()
    try:
        counters = standin.wait_for(lambda c: len(c["resident"]) == 2, timeout=2)
        assert counters["max_resident"] == 2
        assert ps_names(standin, http) == ["llama3.2:1b"]  # ps lists loaded models only
    finally:
        loading.join(5)
    assert sorted(ps_names(standin, http)) == ["llama3.2:1b", "llama3.2:3b"]


def test_ram_budget_can_be_raised_at_run_time(standin, http):
    standin.configure(ram_mb=16384)
    generate(standin, http, model="gemma3:4b", prompt="").raise_for_status()
    generate(standin, http, model="qwen3:4b", prompt="").raise_for_status()
    assert standin.counters()["max_resident"] == 2


# ------------------------------------------------------------ pull, delete
def test_pull_streams_growing_progress_then_success_and_installs_the_model(standin, http):
    http.delete(standin.url + "/api/delete", json={"model": "qwen3:4b"}).raise_for_status()
    assert generate(standin, http, model="qwen3:4b").status_code == 404
    started = time.monotonic()
    with http.post(standin.url + "/api/pull", json={"model": "qwen3:4b"}, stream=True) as r:
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
        lines = stream_lines(r)
    assert time.monotonic() - started >= 0.25  # pull_seconds 0.3
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    progress = [line for line in lines if "digest" in line]
    digests = list(dict.fromkeys(line["digest"] for line in progress))
    assert 2 <= len(digests) <= 3 and all(d.startswith("sha256:") and len(d) == 71 for d in digests)
    for digest in digests:
        completed = [line["completed"] for line in progress if line["digest"] == digest]
        total = next(line["total"] for line in progress if line["digest"] == digest)
        assert completed == sorted(completed) and completed[-1] == total and len(completed) >= 2
        assert f"pulling {digest[7:19]}" in statuses
    assert "qwen3:4b" in [m["name"] for m in http.get(standin.url + "/api/tags").json()["models"]]
    assert generate(standin, http, model="qwen3:4b", stream=False).status_code == 200
    assert standin.counters()["pulls"] == 1


def test_pull_without_streaming_answers_success_once_done(standin, http):
    standin.configure(installed=[])
    r = http.post(standin.url + "/api/pull", json={"model": "llama3.2:1b", "stream": False})
    assert r.status_code == 200 and r.json() == {"status": "success"}
    assert [m["name"] for m in http.get(standin.url + "/api/tags").json()["models"]] == ["llama3.2:1b"]


def test_pull_of_an_unknown_model_gives_ollamas_error(standin, http):
    error = {"error": "pull model manifest: file does not exist"}
    with http.post(standin.url + "/api/pull", json={"model": "nope:1b"}, stream=True) as r:
        assert r.status_code == 200
        assert stream_lines(r) == [error]
    r = http.post(standin.url + "/api/pull", json={"model": "nope:1b", "stream": False})
    assert r.status_code == 500 and r.json() == error


def test_extra_models_can_be_added_to_the_registry_and_pulled(standin, http):
    standin.configure(registry={"tinyllama:1b": 600_000_000})
    assert generate(standin, http, model="tinyllama:1b").status_code == 404
    r = http.post(standin.url + "/api/pull", json={"model": "tinyllama:1b", "stream": False})
    assert r.json() == {"status": "success"}
    assert generate(standin, http, model="tinyllama:1b", stream=False).json()["response"] == "echo: why is the sky blue"


def test_delete_removes_the_model_and_is_a_404_when_absent(standin, http):
    generate(standin, http, model="llama3.2:3b", prompt="").raise_for_status()
    r = http.delete(standin.url + "/api/delete", json={"model": "llama3.2:3b"})
    assert r.status_code == 200 and r.content == b""
    assert "llama3.2:3b" not in [m["name"] for m in http.get(standin.url + "/api/tags").json()["models"]]
    assert ps_names(standin, http) == []  # deleting unloads it
    r = http.delete(standin.url + "/api/delete", json={"model": "llama3.2:3b"})
    assert r.status_code == 404 and r.json() == {"error": 'model "llama3.2:3b" not found'}
    assert standin.counters()["deletes"] == 1


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
def test_tcp_nodelay_keeps_kept_alive_requests_fast(standin, http):
    http.get(standin.url + "/api/version")  # connect
    started = time.monotonic()
    for _ in range(25):
        assert http.get(standin.url + "/api/version").status_code == 200
        assert http.post(standin.url + "/api/show", json={"model": "qwen3:4b"}).status_code == 200
    average = (time.monotonic() - started) / 50
    assert average < 0.015, f"{average * 1000:.1f} ms per request"


def test_curl_sees_stream_chunks_live(standin):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl not installed")
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


# ------------------------------------------------------------ control API
def test_counters_reset_to_zero_and_state_reset_unloads_and_restores(standin, http):
    generate(standin, http, stream=False).raise_for_status()
    standin.configure(installed=["llama3.2:1b"], faults={"slow_seconds": 0.01})
    counters = standin.reset()
    assert counters["generations"] == 0 and counters["loads"] == 0 and counters["prompts"] == {}
    assert counters["resident"] == ["llama3.2:1b"] and counters["max_resident"] == 1
    counters = standin.reset(state=True)
    assert counters["resident"] == [] and counters["unloads"] == 0
    config = standin.request("GET", "/_standin/config")
    assert len(config["installed"]) == 6 and config["faults"] == {}


def test_config_returns_the_settings_and_rejects_unknown_keys(standin):
    config = standin.configure(token_seconds=0.001)
    assert config["token_seconds"] == 0.001 and config["ram_mb"] == 4096 and config["load_seconds"] == 0.05
    with pytest.raises(Exception, match="400"):
        standin.configure(nonsense=1)
    with pytest.raises(Exception, match="400"):
        standin.configure(installed=["not-in-registry"])


# --------------------------------------------------------- CLI and helper
def test_cli_settings_come_from_flags_and_standin_env_vars(monkeypatch):
    monkeypatch.setenv("STANDIN_RAM_MB", "8192")
    monkeypatch.setenv("STANDIN_INSTALLED", "llama3.2:1b,phi4-mini")
    args = parse_args(["--token-seconds", "0.5", "--extra-models", "big:7b=5000000000"])
    settings = build_settings(args)
    assert settings.ram_mb == 8192 and settings.token_seconds == 0.5
    assert settings.installed == {"llama3.2:1b", "phi4-mini:latest"}
    assert settings.registry["big:7b"].size == 5_000_000_000
    settings = build_settings(parse_args(["--installed", "", "--extra-models",
                                          '{"big:7b": {"size": 5000000000, "installed": true}}']))
    assert settings.installed == set()


def test_the_helper_starts_with_settings_logs_and_stops():
    with Standin.start(installed="", ram_mb=1024, extra_models={"tiny:1b": 100_000_000},
                       faults={"slow_seconds": 0.01}) as server:
        assert server.request("GET", "/api/tags") == {"models": []}
        config = server.request("GET", "/_standin/config")
        assert config["ram_mb"] == 1024 and "tiny:1b" in config["registry"]
        assert config["faults"] == {"slow_seconds": 0.01}
        assert "listening on " + server.url in server.log_text()
    assert not server.running


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
