"""Many clients at once against the real web server and qcluster: one model, one generation at a time."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.service import API, poll

pytestmark = pytest.mark.e2e

MODELS = ["gemma3:4b", "qwen3:4b", "phi4:mini"]  # any two overflow the stand-in's 4 GiB


def generate(service, n, **extra):
    body = {"model": MODELS[n % 3], "prompt": f"request number {n}", "options": {"max_tokens": 8}, **extra}
    # A session per call: like separate clients, and requests.Session is not thread-safe.
    response = requests.post(
        service.url + API + "/generate", json=body, headers={"X-API-Key": service.token}, timeout=120
    )
    assert response.status_code in (200, 202), response.text
    return response.json()["request_id"]


def test_sixty_concurrent_generations_over_three_models_never_overlap(service, standin):
    with ThreadPoolExecutor(max_workers=60) as pool:
        ids = list(pool.map(lambda n: generate(service, n), range(60)))
    results = [service.wait_until_finished(request_id, timeout=120) for request_id in ids]
    assert [result["status"] for result in results] == ["done"] * 60
    counters = standin.counters()
    assert counters["max_resident"] == 1
    assert counters["max_concurrent_generations"] == 1
    assert counters["load_failures"] == 0
    assert counters["generations"] == 60
    assert set(counters["prompts"].values()) == {1}


def test_queue_process_and_the_worker_never_run_the_same_request(service, standin):
    standin.configure(token_seconds=0.01)
    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(lambda n: generate(service, n, wait=False), range(20)))
        processing = [pool.submit(service.post, "/queue/process", {"max_iterations": 20}) for _ in range(2)]
        processed = [future.result().json()["processed"] for future in processing]
    results = [service.wait_until_finished(request_id, timeout=120) for request_id in ids]
    assert [result["status"] for result in results] == ["done"] * 20
    counters = standin.counters()
    assert counters["generations"] == 20
    assert set(counters["prompts"].values()) == {1}
    assert counters["max_concurrent_generations"] == 1
    assert counters["max_resident"] == 1
    assert sum(processed) <= 20


def test_status_answers_promptly_while_many_generate_calls_wait(service, standin):
    standin.configure(token_seconds=0.05)

    def wait_for_answer(n):
        body = {"model": MODELS[n % 3], "prompt": f"waiting caller {n}", "wait": True}
        return requests.post(service.url + API + "/generate", json=body, headers={"X-API-Key": service.token}, timeout=120)

    with ThreadPoolExecutor(max_workers=16) as pool:
        waiting = [pool.submit(wait_for_answer, n) for n in range(16)]
        poll(lambda: service.get("/status").json()["queue_length"] >= 10, 30, message="the queue to fill")
        answers = [service.get("/status", timeout=30) for _ in range(5)]
        queued_meanwhile = service.get("/status").json()["queue_length"]
        service.post("/queue/clear")
        # Those still waiting when the queue was cleared learn that their request was cancelled.
        assert {future.result().status_code for future in waiting} <= {200, 409}
    # The waiting calls hold no web thread: /status answered while they still waited, not after.
    assert [answer.status_code for answer in answers] == [200] * 5
    assert queued_meanwhile >= 1
