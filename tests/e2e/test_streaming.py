"""Streaming and cancelling, against the real web server, worker and stand-in."""

import json
import time

import pytest
import requests

from tests.support.service import API, poll

pytestmark = pytest.mark.e2e


def open_stream(service, **body):
    body = {"model": "llama3.2:1b", "prompt": "stream me please", "stream": True, **body}
    response = requests.post(
        service.url + API + "/generate", json=body, headers={"X-API-Key": service.token}, stream=True, timeout=60
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-ndjson"
    return response


def timed_lines(response):
    for raw in response.iter_lines():
        if raw:
            yield time.monotonic(), json.loads(raw)


def occupy_worker(service, standin, tokens=40):
    """A request that keeps the worker busy for a while; returns its id once it runs."""
    request_id = service.post(
        "/generate", {"model": "llama3.2:1b", "prompt": "keep busy", "wait": False, "options": {"max_tokens": tokens}}
    ).json()["request_id"]
    poll(lambda: service.get(f"/requests/{request_id}").json()["status"] == "running", 10, message="it to run")
    return request_id


def test_the_first_chunk_arrives_before_the_generation_ends(service, standin):
    standin.configure(token_seconds=0.05)
    with open_stream(service, options={"max_tokens": 20}) as response:
        lines = list(timed_lines(response))
    texts = [(at, line) for at, line in lines if line.get("response")]
    final_at, final = lines[-1]
    assert final["done"] is True and final["success"] is True
    assert final["eval_count"] == 20
    assert len(texts) >= 5, "the text came in one piece, not streamed"
    assert final_at - texts[0][0] > 0.5
    joined = "".join(line["response"] for _, line in texts)
    assert joined == service.get(f"/requests/{final['request_id']}").json()["response"]


def test_a_queued_stream_says_where_it_waits(service, standin):
    standin.configure(token_seconds=0.05)
    occupy_worker(service, standin)
    with open_stream(service) as response:
        lines = [line for _, line in timed_lines(response)]
    first, final = lines[0], lines[-1]
    assert first["status"] == "queued" and first["queue_position"] == 1 and first["done"] is False
    assert final["done"] is True and final["success"] is True


def test_cancelling_a_queued_request_means_it_never_runs(service, standin):
    standin.configure(token_seconds=0.05)
    occupy_worker(service, standin)
    request_id = service.post("/generate", {"model": "llama3.2:1b", "prompt": "never run", "wait": False}).json()[
        "request_id"
    ]
    response = service.session.delete(service.url + API + f"/requests/{request_id}", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"success": True, "request_id": request_id, "status": "cancelled"}
    poll(lambda: not service.get("/status").json()["is_processing"], 20, message="the worker to go idle")
    assert service.get(f"/requests/{request_id}").json()["status"] == "cancelled"
    assert "never run" not in standin.counters()["prompts"]


def test_cancelling_a_running_request_stops_the_generation(service, standin):
    standin.configure(token_seconds=0.05)
    request_id = occupy_worker(service, standin, tokens=400)  # 20 s if left alone
    started = time.monotonic()
    assert service.session.delete(service.url + API + f"/requests/{request_id}", timeout=10).status_code == 200
    poll(lambda: standin.counters()["active_generations"] == 0, 5, message="the stand-in to stop generating")
    assert time.monotonic() - started < 5
    body = service.get(f"/requests/{request_id}").json()
    assert body["status"] == "cancelled" and body["error"] == "Cancelled by the client"
    # The worker is free for the next one.
    assert service.post("/generate", {"model": "llama3.2:1b", "prompt": "next"}).status_code == 200


def test_cancelling_a_finished_request_is_a_conflict(service, standin):
    request_id = service.post("/generate", {"model": "llama3.2:1b", "prompt": "quick"}).json()["request_id"]
    response = service.session.delete(service.url + API + f"/requests/{request_id}", timeout=10)
    assert response.status_code == 409
    assert response.json()["message"] == f"Request {request_id} has already ended (done)"


def test_a_client_that_disconnects_from_a_queued_stream_cancels_its_request_before_any_heartbeat(service, standin):
    """The server hears the connection close: no line needs to go out (a heartbeat is seconds away)."""
    standin.configure(token_seconds=0.05)
    busy = occupy_worker(service, standin, tokens=1000)
    response = open_stream(service)
    request_id = next(line for _, line in timed_lines(response))["request_id"]
    response.close()
    try:
        poll(lambda: service.get(f"/requests/{request_id}").json()["status"] == "cancelled", 10,
             message="the abandoned queued request to be cancelled")
    finally:
        service.session.delete(service.url + API + f"/requests/{busy}", timeout=10)


def test_a_client_that_disconnects_from_a_stream_cancels_its_request(service, standin):
    standin.configure(token_seconds=0.05)
    response = open_stream(service, options={"max_tokens": 400})
    lines = timed_lines(response)
    request_id = next(line for _, line in lines if line.get("response"))["request_id"]
    response.close()
    poll(
        lambda: service.get(f"/requests/{request_id}").json()["status"] == "cancelled",
        10,
        message="the abandoned request to be cancelled",
    )
    poll(lambda: standin.counters()["active_generations"] == 0, 5, message="the stand-in to stop generating")
