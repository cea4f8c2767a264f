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


@pytest.mark.parametrize(
    "path, body, message_of",
    [
        ("/ollama/api/generate", {**BODY, "stream": False}, lambda answer: answer["error"]),
        ("/ollama/api/chat", {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "stream": False},
         lambda answer: answer["error"]),
        ("/v1/chat/completions", {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}]},
         lambda answer: answer["error"]["message"]),
        ("/v1/completions", {"model": "llama3.2:1b", "prompt": "hi"}, lambda answer: answer["error"]["message"]),
    ],
)
def test_input_that_ollama_refuses_is_a_400_through_the_compatible_doors(api, standin, inline_worker, path, body,
                                                                         message_of):
    standin.configure(faults={"error": {"status": 400, "message": "illegal base64 data at input byte 4"}})
    response = api.post(path, body, format="json")
    assert response.status_code == 400
    assert "illegal base64 data" in message_of(response.json())


@pytest.mark.parametrize(
    "path, body, message_of",
    [
        ("/ollama/api/generate", {**BODY, "stream": False}, lambda answer: answer["error"]),
        ("/v1/completions", {"model": "llama3.2:1b", "prompt": "hi"}, lambda answer: answer["error"]["message"]),
        ("/ollama/api/embed", {"model": "llama3.2:1b", "input": "hi"}, lambda answer: answer["error"]),
    ],
)
def test_a_call_that_waited_its_turn_too_long_is_a_504_in_the_doors_shape(api, idle_worker, settings, path, body,
                                                                          message_of):
    settings.LLM_COMPAT_WAIT_SECONDS = 0.1  # nobody runs the queue (idle_worker)
    response = api.post(path, body, format="json")
    assert response.status_code == 504
    assert "LLM_COMPAT_WAIT_SECONDS" in message_of(response.json())
