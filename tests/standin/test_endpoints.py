"""The stand-in's Ollama endpoints, shaped as Ollama answers them: basics, generation, pull and delete.
(Tests of the stand-in itself: plain pytest, no Django; embeddings in test_embeddings.py.)

One stand-in runs per module (see conftest.py) with short timings; it is reset
to its start-up state before each test.  Nothing sleeps and hopes: anything
that happens later is polled for with a deadline.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone

import requests

from tests.standin.calls import generate, parse_time, ps_names, stream_lines

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
