"""Two worker groups standing for two hosts (own LLM_HOST_ID, own run directory) over one database."""

import os
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


def test_with_two_worker_hosts_a_node_killed_mid_run_loses_nothing_and_rejoins(fleet):
    env = {**fleet.env(), "LLM_NODE_RECHECK_MAX_SECONDS": "5"}
    with Service.start(fleet.first, env=env) as service:
        service.start_other_host_worker("host2")
        fleet["b"].configure(token_seconds=0.05)
        ids = [submit(service, ["llama3.2:1b", "phi4:mini"][i % 2], f"k{i}") for i in range(12)]
        fleet["b"].wait_for(lambda seen: seen["active_generations"] == 1, timeout=60)
        fleet.kill("b")
        ends = [service.wait_until_finished(request_id, timeout=180) for request_id in ids]
        assert all(end["status"] == "done" or (end["status"] == "failed" and end["error"]) for end in ends), ends
        assert sum(end["status"] == "done" for end in ends) >= len(ends) - 1  # at most the one b was running
        fleet.revive("b", **TIMINGS)
        poll(lambda: [node["reachable"] for node in service.get("/status").json()["nodes"]] == [True, True], 30,
             interval=0.5, message="b to rejoin")
        more = [submit(service, ["llama3.2:1b", "phi4:mini"][i % 2], f"m{i}") for i in range(8)]
        assert all(service.wait_until_finished(request_id, timeout=120)["status"] == "done" for request_id in more)
        for name, seen in fleet.counters().items():
            assert seen["max_resident"] <= 1 and seen["max_concurrent_generations"] <= 1, name


POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
# Every poll far past the test's deadline: only a wake-up from the other host can start the task
# (and tell the web server it ended) in time.
NO_POLLING = {"LLM_WAKEUPS": "postgres", "Q_POLL_SECONDS": "120", "LLM_POLL_SECONDS": "120",
              "LLM_SAFETY_NET_MINUTES": "10"}


@pytest.mark.skipif(not POSTGRES, reason="wake-ups between hosts go over PostgreSQL NOTIFY")
def test_a_request_stored_on_one_host_runs_on_another_at_once_with_postgres_wake_ups(fleet):
    with Service.start(fleet.first, env={**fleet.env(), **NO_POLLING}, worker=False) as service:
        service.start_other_host_worker("host2")  # the only worker, with a run directory of its own
        service.wait_for_worker(host="host2")
        body = {"model": "llama3.2:1b", "prompt": "across", "options": {"max_tokens": 5}}
        response = service.post("/generate", body, timeout=60)  # waits for the answer
        assert response.status_code == 200, response.text  # 202 had it not ended in the wait
        assert response.json()["success"] is True
        assert ran_by(service, "worker-host2.log") == 1
