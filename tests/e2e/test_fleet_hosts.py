"""Two worker groups standing for two hosts (own LLM_HOST_ID, own run directory) over one database."""

import re

import pytest

from tests.support.fleet import Fleet
from tests.support.service import Service, poll

pytestmark = pytest.mark.e2e

TIMINGS = {"load_seconds": 0.2, "token_seconds": 0.02, "pull_seconds": 0.3}


@pytest.fixture
def fleet():
    with Fleet.start(["a", "b"], **TIMINGS) as nodes:
        yield nodes


def submit(service, model, prompt):
    body = {"model": model, "prompt": prompt, "wait": False, "options": {"max_tokens": 20}}
    response = service.post("/generate", body)
    assert response.status_code in (200, 202), response.text
    return response.json()["request_id"]


def ran_by(service, host_log):
    return len(re.findall(r"Running req_", (service.folder / host_log).read_text(errors="replace")))


def test_two_worker_hosts_share_the_nodes_and_one_takes_over_when_the_other_dies(fleet):
    env = {**fleet.env(), "LLM_LEASE_SECONDS": "3"}
    with Service.start(fleet.first, env=env) as service:
        service.start_other_host_worker("host2")
        ids = [submit(service, ["llama3.2:1b", "phi4:mini"][i % 2], f"h{i}") for i in range(16)]
        fleet["a"].wait_for(lambda seen: seen["generations"] >= 2, timeout=60)
        service.kill_worker()  # the first host's whole worker group, SIGKILL
        ends = [service.wait_until_finished(request_id, timeout=120) for request_id in ids]
        assert all(end["status"] == "done" or (end["status"] == "failed" and end["error"]) for end in ends), ends
        assert ran_by(service, "worker-host2.log") > 0
        for name, seen in fleet.counters().items():
            assert seen["max_resident"] <= 1 and seen["max_concurrent_generations"] <= 1, name
        # The other host takes new work alone, and wakes itself for it (no wake-up reaches it).
        late = submit(service, "llama3.2:1b", "late")
        assert poll(lambda: service.wait_until_finished(late, timeout=60), 60)["status"] == "done"
