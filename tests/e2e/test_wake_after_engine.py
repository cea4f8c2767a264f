"""A request stored while someone else holds the engine starts once they let go of it.

Its own wake-up found the engine taken (the worker's task returned at once), so
only the release can start it in time: the safety-net schedule is an hour away here.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.service import Service, poll

pytestmark = pytest.mark.e2e

MODEL = "phi4:mini"


@pytest.fixture(scope="module")
def service(e2e_standin):
    with Service.start(e2e_standin, env={"LLM_SAFETY_NET_MINUTES": "60"}) as running:
        # Once a first request ran, the worker is up and its start-up wake-up is spent.
        running.wait_until_finished(store(running, "is the worker up?"), timeout=60)
        yield running


def loading(standin):
    # The stand-in counts a call when it arrives; a load is a POST /api/generate.
    return standin.counters()["requests"].get("/api/generate", 0) >= 1


def store(service, prompt):
    answer = service.post("/generate", {"model": MODEL, "prompt": prompt, "wait": False})
    assert answer.status_code == 202, answer.text
    return answer.json()["request_id"]


def test_a_request_stored_during_a_switch_runs_when_the_switch_ends(service, standin):
    standin.configure(load_seconds=3)
    with ThreadPoolExecutor(max_workers=1) as pool:
        switching = pool.submit(service.post, "/switch", {"model": MODEL})
        poll(lambda: loading(standin), 10, message="the switch to load the model")
        request_id = store(service, "stored during the switch")
        assert switching.result(timeout=60).status_code == 200
    assert service.wait_until_finished(request_id, timeout=30)["status"] == "done"


def test_a_request_stored_while_queue_process_runs_starts_when_it_returns(service, standin):
    standin.configure(load_seconds=3)
    service.post("/queue/clear")  # whatever an earlier test left waiting would run first
    # Stored without a wake-up, so only /queue/process runs it.
    first = service.store_unannounced(model=MODEL, prompt="run by queue/process")
    with ThreadPoolExecutor(max_workers=1) as pool:
        processing = pool.submit(service.post, "/queue/process", {"max_iterations": 1})
        poll(lambda: service.get(f"/requests/{first}").json()["status"] == "running", 10,
             message="/queue/process to start the first request")
        second = store(service, "stored while /queue/process runs")
        assert processing.result(timeout=60).json()["processed"] == 1
    assert service.get(f"/requests/{first}").json()["status"] == "done"
    assert service.wait_until_finished(second, timeout=30)["status"] == "done"
