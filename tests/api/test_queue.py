import threading

import pytest

from llm.queue import runner
from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(admin_api):
    """Working the queue is for admin tokens: these tests call the API with an admin token."""
    return admin_api


def enqueue(api, count, model="llama3.2:1b"):
    return [
        api.post("/api/v1/llm/generate", {"model": model, "prompt": f"job {n}", "wait": False}, format="json").json()
        for n in range(count)
    ]


def test_process_runs_up_to_max_iterations(api, standin, idle_worker):
    enqueue(api, 5)
    response = api.post("/api/v1/llm/queue/process", {"max_iterations": 3}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "success": True, "processed": 3, "remaining": 2, "message": "Processed 3 requests; 2 still waiting."
    }
    assert GenerationRequest.objects.filter(status="done").count() == 3


def test_process_runs_requests_in_arrival_order(api, standin, idle_worker):
    ids = [body["request_id"] for body in enqueue(api, 3)]
    api.post("/api/v1/llm/queue/process", {"max_iterations": 10}, format="json")
    finished = GenerationRequest.objects.order_by("started_at").values_list("request_id", flat=True)
    assert list(finished) == ids


def test_process_defaults_to_ten_iterations(api, standin, idle_worker):
    enqueue(api, 12)
    body = api.post("/api/v1/llm/queue/process").json()
    assert (body["processed"], body["remaining"]) == (10, 2)


def test_process_with_an_empty_queue_does_nothing_and_says_the_worker_runs_the_queue(api, standin):
    assert api.post("/api/v1/llm/queue/process", {}, format="json").json() == {
        "success": True,
        "processed": 0,
        "remaining": 0,
        "message": "Nothing to process: no request was waiting. The worker runs queued requests as they arrive.",
    }


def test_process_after_the_worker_drained_the_queue_says_so(api, standin, inline_worker):
    # The worker (inline here) runs the request as it is queued; /queue/process then finds nothing.
    enqueue(api, 1)
    body = api.post("/api/v1/llm/queue/process", {}, format="json").json()
    assert (body["processed"], body["remaining"]) == (0, 0)
    assert "The worker runs queued requests as they arrive" in body["message"]


def test_process_that_finds_the_model_held_says_how_many_still_wait(api, standin, idle_worker, settings):
    from llm.engine import residency

    settings.LLM_GENERATE_WAIT_SECONDS = 0
    enqueue(api, 2)
    with residency.engine(wait=5) as holder:
        assert holder is not None
        body = api.post("/api/v1/llm/queue/process", {}, format="json").json()
    assert (body["processed"], body["remaining"]) == (0, 2)
    assert body["message"].startswith("Processed none: the worker held the model") and "2 still waiting" in body["message"]


def test_process_and_the_worker_never_run_the_same_request(api, standin, idle_worker):
    enqueue(api, 12)
    worker = threading.Thread(target=runner.drain)
    worker.start()
    processed = api.post("/api/v1/llm/queue/process", {"max_iterations": 12}, format="json").json()["processed"]
    worker.join(timeout=60)
    assert GenerationRequest.objects.filter(status="done").count() == 12
    assert all(request.attempts == 1 for request in GenerationRequest.objects.all())
    counters = standin.counters()
    assert counters["generations"] == 12
    assert set(counters["prompts"].values()) == {1}
    assert counters["max_concurrent_generations"] == 1
    assert 0 <= processed <= 12


def test_clear_cancels_waiting_requests_and_says_how_many(api, standin, idle_worker):
    enqueue(api, 4)
    running = GenerationRequest.objects.order_by("created_at").first()
    GenerationRequest.objects.filter(pk=running.pk).update(status="running")
    response = api.post("/api/v1/llm/queue/clear")
    assert response.json() == {"success": True, "cleared": 3}
    assert GenerationRequest.objects.get(pk=running.pk).status == "running"
    assert GenerationRequest.objects.filter(status="cancelled").count() == 3


def test_a_cleared_request_reads_as_cancelled(api, standin, idle_worker):
    [body] = enqueue(api, 1)
    api.post("/api/v1/llm/queue/clear")
    detail = api.get(f"/api/v1/llm/requests/{body['request_id']}").json()
    assert detail["status"] == "cancelled"
    assert detail["error"] == "Cleared from the queue"
