"""Each of Ollama's faults, from the stand-in's switches, as a client sees it."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"model": "llama3.2:1b", "prompt": "are you there?"}


def test_a_slow_ollama_times_out_retries_and_then_fails_saying_so(api, standin, inline_worker, settings):
    settings.OLLAMA_READ_TIMEOUT = 0.3
    settings.LLM_OLLAMA_RETRY_SECONDS = 1
    standin.configure(faults={"slow_seconds": 1})
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 502
    assert "did not answer in time" in response.json()["message"]
    assert "gave up after retrying" in response.json()["message"]


def test_a_model_that_fails_to_load_for_lack_of_memory_fails_with_ollamas_reason(api, standin, inline_worker):
    standin.configure(faults={"load_oom": True})
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 502
    assert "model requires more system memory" in response.json()["message"]


def test_status_tells_what_is_wrong_when_ollama_is_slow(api, standin, settings):
    settings.OLLAMA_READ_TIMEOUT = 0.3
    standin.configure(faults={"slow_seconds": 1})
    body = api.get("/api/v1/llm/status").json()
    assert body["ollama_running"] is False
    assert "did not answer in time" in body["ollama_error"]
