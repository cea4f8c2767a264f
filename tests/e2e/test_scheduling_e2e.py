"""The queue policy through the real processes: a mixed queue costs fewer model loads swap-aware than FIFO."""

import pytest
import requests

from tests.support.service import API, Service

pytestmark = pytest.mark.e2e

MODELS = ["gemma3:4b", "qwen3:4b", "phi4:mini"]


@pytest.fixture(scope="module")
def service(e2e_standin):
    with Service.start(e2e_standin, env={"LLM_SCHEDULER": "swap-aware"}) as running:
        yield running


def run_mixed_queue(service, standin, count=9):
    """Queue requests for the three models in turn, all while the first model loads; the stand-in's load count."""
    standin.reset(state=True)
    standin.configure(load_seconds=0.3)
    with requests.Session() as session:
        session.headers["X-API-Key"] = service.token
        ids = []
        for n in range(count):
            body = {"model": MODELS[n % 3], "prompt": f"mixed {n}", "options": {"max_tokens": 2}, "wait": False}
            response = session.post(service.url + API + "/generate", json=body, timeout=30)
            assert response.status_code == 202, response.text
            ids.append(response.json()["request_id"])
    results = [service.wait_until_finished(request_id, timeout=60) for request_id in ids]
    assert [result["status"] for result in results] == ["done"] * count
    counters = standin.counters()
    assert counters["max_resident"] == 1
    return counters["loads"]


def test_a_mixed_queue_loads_each_model_about_once_swap_aware_and_every_time_fifo(service, standin):
    swap_aware = run_mixed_queue(service, standin)
    with Service.start(standin, env={"LLM_SCHEDULER": "fifo"}) as fifo_service:
        fifo = run_mixed_queue(fifo_service, standin)
    assert swap_aware <= 4, swap_aware
    assert fifo >= 7, fifo
