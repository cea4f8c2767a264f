"""/metrics on the real processes: the worker loads and generates, the web server reports it."""

import pytest
import requests

from tests.security.test_metrics import samples, value
from tests.support.service import Service
from tests.support.standin import Standin

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service():
    with Standin.start(load_seconds=0.1, token_seconds=0.005, pull_seconds=0.5) as standin:
        with Service.start(standin) as running:
            yield running


def test_work_done_by_the_worker_process_shows_in_the_web_servers_metrics(service):
    for model in ("gemma3:4b", "qwen3:4b"):
        queued = service.post("/generate", {"model": model, "prompt": "one two three", "wait": False})
        assert service.wait_until_finished(queued.json()["request_id"])["status"] == "done"
    response = requests.get(service.url + "/metrics", timeout=10)  # straight from 127.0.0.1, no proxy
    assert response.status_code == 200
    found = samples(response.text)
    assert value(found, "llm_requests_total", outcome="done", source="api") == 2
    assert value(found, "llm_model_load_seconds_count", model="gemma3:4b") == 1
    assert value(found, "llm_model_swaps_total", model="qwen3:4b") == 1
    assert value(found, "llm_model_load_seconds_sum", model="qwen3:4b") >= 0.1
    assert value(found, "llm_generated_tokens_total", model="qwen3:4b") > 0


def test_metrics_through_a_proxy_need_a_token(service):
    response = requests.get(service.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=10)
    assert response.status_code == 403
    response = requests.get(
        service.url + "/metrics", headers={"X-Forwarded-For": "203.0.113.7", "X-API-Key": service.token}, timeout=10
    )
    assert response.status_code == 200
