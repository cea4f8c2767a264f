"""200 concurrent mixed-model requests from several tokens: every one accounted for."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support.service import API, poll

pytestmark = pytest.mark.e2e

MODELS = ["gemma3:4b", "qwen3:4b", "phi4:mini", "llama3.2:1b"]


def test_two_hundred_concurrent_requests_from_four_tokens_all_finish_one_at_a_time(service, standin):
    standin.configure(token_seconds=0.002)
    keys = [service.manage("create_token", f"load client {n}").strip() for n in range(4)]

    def submit(n):
        body = {"model": MODELS[n % 4], "prompt": f"load {n}", "wait": False, "options": {"max_tokens": 4}}
        response = requests.post(service.url + API + "/generate", json=body, headers={"X-API-Key": keys[n % 4]},
                                 timeout=60)
        assert response.status_code == 202, response.text
        return keys[n % 4], response.json()["request_id"]

    with ThreadPoolExecutor(max_workers=32) as pool:
        submitted = list(pool.map(submit, range(200)))
    assert len({request_id for _, request_id in submitted}) == 200

    def status_of(key, request_id):
        return requests.get(service.url + API + f"/requests/{request_id}", headers={"X-API-Key": key},
                            timeout=30).json()["status"]

    poll(lambda: service.get("/status").json()["queue_length"] == 0 and not service.get("/status").json()["is_processing"],
         180, interval=0.5, message="the queue to drain")
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda pair: status_of(*pair), submitted))
    assert statuses == ["done"] * 200
    counters = standin.counters()
    assert counters["generations"] == 200
    assert set(counters["prompts"].values()) == {1}
    assert counters["max_resident"] == 1
    assert counters["max_concurrent_generations"] == 1
