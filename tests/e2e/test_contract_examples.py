"""Every curl example of the seed contract, replayed against the real processes."""

import pytest
import requests

from tests.support.service import API

pytestmark = pytest.mark.e2e


def test_generate_example(service, standin):
    response = service.post(
        "/generate",
        {"model": "llama3.2:3b", "prompt": "What is PHP?", "options": {"max_tokens": 256}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True and body["done"] is True
    assert body["model"] == "llama3.2:3b"
    assert body["request_id"].startswith("req_")
    assert "PHP" in body["response"]
    assert body["queue_length"] == 0


def test_generate_example_with_a_bearer_token(service, standin):
    response = requests.post(
        service.url + API + "/generate",
        json={"model": "llama3.2:1b", "prompt": "Explain quantum computing in simple terms",
              "options": {"temperature": 0.7, "max_tokens": 512}},
        headers={"Authorization": f"Bearer {service.token}"},
        timeout=60,
    )
    assert response.status_code == 200 and response.json()["done"] is True


def test_status_example(service, standin):
    service.post("/switch", {"model": "llama3.2:3b"})
    body = service.get("/status").json()
    assert body["success"] is True
    assert body["ollama_running"] is True
    assert body["current_model"] == "llama3.2:3b"
    assert body["queue_length"] == 0
    assert body["is_processing"] is False
    assert sorted(body["available_models"]) == sorted(
        ["llama3.2:3b", "phi4:mini", "qwen3:4b", "gemma3:4b", "llama3.2:1b", "qwen2.5-coder:3b"]
    )
    [entry] = [model for model in body["installed_models"] if model["name"] == "llama3.2:3b"]
    assert set(entry) == {"name", "size", "modified_at"}


def test_pull_all_example(service, standin):
    standin.configure(installed=[])
    response = service.post("/pull-all")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    assert body["message"] == "Pulled 6 of 6 models"
    for name, outcome in body["results"].items():
        assert outcome == {"success": True, "message": f"Model {name} pulled successfully"}


def test_pull_example(service, standin):
    standin.configure(installed=[])
    response = service.post("/pull", {"model": "qwen2.5-coder:3b"})
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Model qwen2.5-coder:3b pulled successfully",
        "model": "qwen2.5-coder:3b",
    }
    assert standin.counters()["pulls"] == 1


def test_switch_example(service, standin):
    response = service.post("/switch", {"model": "phi4:mini"})
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Switched to model phi4:mini", "model": "phi4:mini"}
    assert service.get("/status").json()["current_model"] == "phi4:mini"


def test_models_example(service, standin):
    body = service.get("/models").json()
    assert body["success"] is True
    assert set(body["models_fit"]) == set(body["models"])
    assert body["models"] == {
        "llama3.2:3b": "General Purpose / Balanced",
        "phi4:mini": "Logic & Reasoning / 3.8B",
        "qwen3:4b": "Coding & Multilingual",
        "gemma3:4b": "Advanced Reasoning",
        "llama3.2:1b": "Ultra-light / Summarization",
        "qwen2.5-coder:3b": "Specialized Programming",
    }


def test_queue_process_example(service, standin):
    response = service.post("/queue/process", {"max_iterations": 5})
    assert response.status_code == 200
    body = response.json()
    # The contract's fields, and a sentence saying what happened (an addition).
    assert set(body) == {"success", "processed", "remaining", "message"}
    assert body["success"] is True and body["remaining"] == 0


def test_queue_clear_example(service, standin):
    response = service.post("/queue/clear")
    assert response.status_code == 200
    assert response.json() == {"success": True, "cleared": 0}


def test_unauthorized_example(service):
    response = requests.get(service.url + API + "/status", headers={"X-API-Key": "wrong"}, timeout=10)
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Unauthorized", "message": "Invalid or missing Bearer token"}


def test_bad_request_example(service):
    response = service.post("/generate", {"model": "llama3.2:3b"})
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Bad Request", "message": "model and prompt are required"}


def test_not_found_example(service):
    response = service.get("/invalid")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"success": False, "error": "Not Found", "message": "Endpoint not found: /invalid"}


def test_a_queued_request_is_run_by_the_worker_and_can_be_fetched(service, standin):
    queued = service.post("/generate", {"model": "llama3.2:1b", "prompt": "later please", "wait": False})
    assert queued.status_code == 202
    body = service.wait_until_finished(queued.json()["request_id"])
    assert body["status"] == "done" and "later" in body["response"]
