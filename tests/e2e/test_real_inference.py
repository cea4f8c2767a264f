"""The whole path once with real inference: web, worker, and the stand-in running SmolLM2.

Needs the real-inference extras (requirements-real.txt + requirements-model.txt),
which bin/test installs; skipped with the reason when they are absent.
"""

import pytest

from llm.standin.backend import real_extras_missing
from tests.support.service import Service
from tests.support.standin import Standin

MISSING = real_extras_missing()
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(MISSING is not None, reason=f"real-inference extras not installed: {MISSING}"),
]

MODELS = ["llama3.2:1b", "qwen3:4b"]  # two catalog names, one GGUF file behind both
QUESTIONS = [
    "What is PHP?",
    "Name three colors.",
    "Why is the sky blue?",
    "What is a database index?",
    "Give me a word that rhymes with cat.",
    "What does a compiler do?",
]


@pytest.fixture(scope="module")
def e2e_standin():
    """Overrides the conftest's echo stand-in: this module's service talks to a real model."""
    with Standin.start(backend="llama", timeout=60) as process:
        yield process


@pytest.fixture(scope="module")
def service(e2e_standin):
    """First come, first served, so requests for two names queued in turn make the worker swap every time."""
    with Service.start(e2e_standin, env={"LLM_SCHEDULER": "fifo"}) as running:
        yield running


@pytest.fixture
def standin(e2e_standin, service):
    e2e_standin.reset(state=True)
    return e2e_standin


def ask(service, n, **extra):
    body = {"model": MODELS[n % 2], "prompt": QUESTIONS[n], "options": {"max_tokens": 48, "temperature": 0}, **extra}
    response = service.post("/generate", body)
    assert response.status_code in (200, 202), response.text
    return response.json()


def test_real_text_flows_through_the_queue_with_one_model_resident_at_a_time(service, standin):
    # In order, so the worker (first come, first served here) alternates the two names.
    queued = [ask(service, n, wait=False) for n in range(len(QUESTIONS))]
    assert max(answer["queue_length"] for answer in queued) >= 2  # the queue filled up...
    results = [service.wait_until_finished(answer["request_id"], timeout=120) for answer in queued]
    assert service.get("/status").json()["queue_length"] == 0  # ...and drained

    assert [result["status"] for result in results] == ["done"] * len(QUESTIONS)
    assert service.get("/status").json()["queue_length"] == 0
    streamed = standin.counters()["streamed_tokens"]
    for question, result in zip(QUESTIONS, results):
        assert result["response"].strip() and not result["response"].startswith("echo:"), result
        assert question not in result["response"]
        assert 0 < result["eval_count"] <= 48
        assert result["eval_count"] == streamed[question], (question, result["eval_count"], streamed)
        assert result["eval_duration"] > 0 and result["prompt_eval_count"] > len(question.split())
    counters = standin.counters()
    assert counters["max_resident"] == 1
    assert counters["max_concurrent_generations"] == 1
    assert counters["generations_by_model"] == {"llama3.2:1b": 3, "qwen3:4b": 3}
    assert counters["loads"] == len(QUESTIONS)  # every request swapped the model
    assert counters["load_failures"] == 0


def test_a_waiting_call_gets_real_words_and_status_names_the_real_stand_in(service, standin):
    response = service.post("/generate", {"model": "llama3.2:3b", "prompt": "What is PHP?",
                                          "options": {"max_tokens": 64, "temperature": 0}, "wait": True})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["done"] is True and "PHP" in body["response"] and not body["response"].startswith("echo:")
    status = service.get("/status").json()
    assert status["ollama_standin"] == "llama" and status["current_model"] == "llama3.2:3b"
