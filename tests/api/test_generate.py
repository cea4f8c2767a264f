import threading

import pytest

from llm.queue import runner
from llm.models import GenerationRequest
from tests.support.service import poll

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"model": "llama3.2:3b", "prompt": "Explain quantum computing in simple terms"}


def test_generate_answers_at_once_when_nothing_is_ahead(api, standin, inline_worker):
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"success", "request_id", "response", "model", "done", "queue_length"}
    assert body["success"] is True and body["done"] is True
    assert body["model"] == "llama3.2:3b"
    assert body["request_id"].startswith("req_")
    assert "quantum" in body["response"]
    assert body["queue_length"] == 0


def test_generate_is_queued_while_worker_busy(api, standin, idle_worker):
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="busy", status="running")
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body == {
        "success": True,
        "message": "Request queued",
        "request_id": body["request_id"],
        "queue_position": 1,
        "queue_length": 1,
    }


def test_queue_positions_count_from_one_among_waiting_requests(api, standin, idle_worker):
    positions = [api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json").json() for _ in range(3)]
    assert [body["queue_position"] for body in positions] == [1, 2, 3]
    assert [body["queue_length"] for body in positions] == [1, 2, 3]


def test_wait_false_always_queues(api, standin, idle_worker):
    response = api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json")
    assert response.status_code == 202
    assert GenerationRequest.objects.get(request_id=response.json()["request_id"]).status == "queued"


def test_wait_true_waits_even_behind_others(api, standin, inline_worker):
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="first in line")
    response = api.post("/api/v1/llm/generate", dict(BODY, wait=True), format="json")
    assert response.status_code == 200
    assert GenerationRequest.objects.filter(status="done").count() == 2


def test_a_wait_that_runs_out_answers_with_the_queued_form(api, standin, idle_worker, settings):
    settings.LLM_GENERATE_WAIT_SECONDS = 0.2
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 202
    assert response.json()["message"] == "Request queued"


def test_max_tokens_becomes_num_predict_and_options_pass_through(api, standin, inline_worker):
    options = {"max_tokens": 5, "temperature": 0.2, "seed": 7, "stop": ["\n"], "num_ctx": 2048, "mirostat": 0}
    response = api.post("/api/v1/llm/generate", dict(BODY, options=options), format="json")
    stored = GenerationRequest.objects.get(request_id=response.json()["request_id"])
    assert stored.options == {"num_predict": 5, "temperature": 0.2, "seed": 7, "stop": ["\n"], "num_ctx": 2048, "mirostat": 0}
    assert stored.eval_count == 5


def test_a_finished_request_can_be_fetched_with_ollamas_figures(api, standin, inline_worker):
    request_id = api.post("/api/v1/llm/generate", BODY, format="json").json()["request_id"]
    body = api.get(f"/api/v1/llm/requests/{request_id}").json()
    assert body["status"] == "done" and body["done"] is True
    assert "quantum" in body["response"]
    assert body["eval_count"] > 0 and body["total_duration"] > 0 and body["load_duration"] is not None
    assert body["done_reason"] in ("stop", "length")


def test_a_queued_request_can_be_fetched_with_its_position(api, standin, idle_worker):
    api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json")
    request_id = api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json").json()["request_id"]
    body = api.get(f"/api/v1/llm/requests/{request_id}").json()
    assert body["status"] == "queued" and body["done"] is False
    assert body["queue_position"] == 2 and body["queue_length"] == 2
    assert "response" not in body


def test_an_unknown_request_id_is_404(api):
    response = api.get("/api/v1/llm/requests/req_nope")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Not Found", "message": "No request with id req_nope"}


def test_a_failed_generation_reports_ollamas_error(api, standin, inline_worker):
    standin.configure(faults={"error": {"status": 500, "message": "llama runner process has terminated"}})
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 502
    body = response.json()
    assert body["error"] == "Bad Gateway"
    assert "llama runner process has terminated" in body["message"]
    assert GenerationRequest.objects.get().status == "failed"


def test_a_model_that_is_not_installed_fails_with_a_clear_reason(api, standin, inline_worker):
    standin.configure(installed=["llama3.2:1b"])
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 502
    assert "Model llama3.2:3b is not installed in Ollama; pull it first" in response.json()["message"]


def test_generation_while_ollama_is_down_retries_then_fails_and_says_so(api, standin, inline_worker, settings):
    settings.LLM_OLLAMA_RETRY_SECONDS = 1
    standin.configure(faults={"down": True})
    response = api.post("/api/v1/llm/generate", BODY, format="json")
    assert response.status_code == 502
    message = response.json()["message"]
    assert "Ollama is not reachable" in message and "gave up after retrying for 1s" in message


def test_generation_waits_for_ollama_to_come_back(api, standin, settings):
    settings.LLM_OLLAMA_RETRY_SECONDS = 30
    standin.configure(faults={"down": True})
    request_id = api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json").json()["request_id"]
    worker = threading.Thread(target=runner.drain)
    worker.start()
    poll(lambda: GenerationRequest.objects.get(request_id=request_id).status == "running", 5, message="it to start")
    standin.configure(faults={})
    worker.join(timeout=30)
    assert GenerationRequest.objects.get(request_id=request_id).status == "done"


def test_a_connection_dropped_mid_generation_fails_with_a_clear_reason(api, standin, inline_worker, settings):
    settings.LLM_OLLAMA_RETRY_SECONDS = 5
    standin.configure(faults={"drop_after_chunks": 3})
    request_id = api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json").json()["request_id"]
    generation = GenerationRequest.objects.get(request_id=request_id)
    assert generation.status == "failed"
    assert generation.error == "The connection to Ollama broke off in the middle of a reply"
    # Not run again: a streaming client may already hold the first words.
    assert standin.counters()["generations"] == 1


def test_a_connection_dropped_before_any_text_is_retried(api, standin, settings):
    settings.LLM_OLLAMA_RETRY_SECONDS = 30
    standin.configure(faults={"drop_after_chunks": 0})
    request_id = api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json").json()["request_id"]
    worker = threading.Thread(target=runner.drain)
    worker.start()
    # Undisturbed, a run takes two calls (load, generate); a third means it tried again.
    poll(lambda: standin.counters()["requests"].get("/api/generate", 0) >= 3, 10, message="a second try")
    standin.configure(faults={})
    worker.join(timeout=30)
    assert GenerationRequest.objects.get(request_id=request_id).status == "done"


def test_a_full_queue_answers_503_with_retry_after(api, standin, idle_worker, settings):
    settings.LLM_MAX_QUEUE_LENGTH = 2
    for _ in range(2):
        assert api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json").status_code == 202
    response = api.post("/api/v1/llm/generate", dict(BODY, wait=False), format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "6"
    assert response.json() == {
        "success": False,
        "error": "Service Unavailable",
        "message": "The queue is full (2 requests wait); try again shortly",
    }
    assert GenerationRequest.objects.count() == 2
