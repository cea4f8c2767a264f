"""A fleet of one-model boxes: one gateway (web + worker) in front of several stand-ins (LLM_NODES)."""

import pytest

from tests.support.fleet import Fleet
from tests.support.service import Service, poll

pytestmark = pytest.mark.e2e

MODELS = ["llama3.2:1b", "llama3.2:3b", "phi4:mini"]
TIMINGS = {"load_seconds": 0.3, "token_seconds": 0.01, "pull_seconds": 0.3}


@pytest.fixture(scope="module")
def fleet():
    with Fleet.start(["a", "b", "c"], **TIMINGS) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def service(fleet):
    with Service.start(fleet.first, env={**fleet.env(), "LLM_NODE_RECHECK_MAX_SECONDS": "2"}) as running:
        yield running


@pytest.fixture
def nodes(fleet, service):
    for name in list(fleet.standins):
        if not fleet[name].running:
            fleet.revive(name)
    fleet.reset(**TIMINGS)
    poll(lambda: all(node["reachable"] for node in service.get("/status").json()["nodes"]), 30,
         message="every node to answer")
    assert service.post("/unload").status_code == 200
    fleet.reset(**TIMINGS)
    return fleet


def submit(service, model, tokens=10, prompt="hello"):
    body = {"model": model, "prompt": prompt, "wait": False, "options": {"max_tokens": tokens}}
    response = service.post("/generate", body)
    assert response.status_code in (200, 202), response.text
    return response.json()["request_id"]


def node_is_reachable(service, name):
    code = f"from llm.models import Node; print(Node.objects.get(name={name!r}).reachable)"
    return service.manage("shell", "-c", code).strip().endswith("True")


def test_status_lists_every_node_with_what_it_holds(service, nodes):
    assert service.post("/switch", {"model": "phi4:mini", "node": "b"}).json()["node"] == "b"
    status = service.get("/status").json()
    assert [node["name"] for node in status["nodes"]] == ["a", "b", "c"]
    b = status["nodes"][1]
    assert b["url"] == nodes["b"].url and b["reachable"] and b["current_model"] == "phi4:mini"
    assert b["running_request"] is None and "phi4:mini" in [model["name"] for model in b["installed"]]
    assert status["current_model"] == "phi4:mini" and status["ollama_running"] is True


def test_it_refuses_a_node_it_does_not_have(service, nodes):
    response = service.post("/switch", {"model": "phi4:mini", "node": "z"})
    assert response.status_code == 400 and response.json()["success"] is False


def test_requests_for_three_models_run_side_by_side_one_model_per_node(service, nodes):
    ids = [submit(service, MODELS[i % 3], prompt=f"p{i}") for i in range(30)]
    for request_id in ids:
        assert service.wait_until_finished(request_id, timeout=120)["status"] == "done"
    counters = nodes.counters()
    for name, seen in counters.items():
        assert seen["max_resident"] <= 1, name
        assert seen["max_concurrent_generations"] <= 1, name
        assert seen["generations"] > 0, f"node {name} ran nothing"
    assert sum(seen["loads"] for seen in counters.values()) <= len(MODELS) + 2


def test_a_node_out_of_service_takes_nothing_new(service, nodes):
    code = "from llm.models import Node; Node.objects.filter(name='c').update(in_service=False)"
    service.manage("shell", "-c", code)
    ids = [submit(service, MODELS[i % 3], prompt=f"q{i}") for i in range(9)]
    for request_id in ids:
        assert service.wait_until_finished(request_id, timeout=120)["status"] == "done"
    assert nodes["c"].counters()["generations"] == 0
    service.manage("shell", "-c", code.replace("False", "True"))


def test_a_node_killed_mid_run_loses_nothing_and_rejoins(service, nodes):
    nodes["b"].configure(token_seconds=0.05)
    ids = [submit(service, MODELS[i % 3], tokens=40, prompt=f"k{i}") for i in range(12)]
    nodes["b"].wait_for(lambda seen: seen["active_generations"] == 1, timeout=60)
    nodes.kill("b")
    ends = [service.wait_until_finished(request_id, timeout=180) for request_id in ids]
    assert all(end["status"] == "done" or (end["status"] == "failed" and end["error"]) for end in ends), ends
    assert sum(end["status"] == "done" for end in ends) >= len(ends) - 1  # at most the one b was running
    status = service.get("/status").json()
    assert [node["reachable"] for node in status["nodes"]] == [True, False, True]

    nodes.revive("b")
    # While work waits, the worker asks b again by itself (nobody calls /status meanwhile) and gives it work.
    more = [submit(service, MODELS[i % 3], tokens=40, prompt=f"m{i}") for i in range(30)]
    poll(lambda: node_is_reachable(service, "b"), 30, interval=0.5, message="the worker to see b again")
    for request_id in more:
        assert service.wait_until_finished(request_id, timeout=180)["status"] == "done"


def test_a_pull_goes_to_every_node_or_to_one(service, nodes):
    response = service.post("/pull", {"model": "gemma3:4b", "node": "c"})
    assert response.status_code == 200, response.text
    assert [seen["pulls"] for seen in nodes.counters().values()] == [0, 0, 1]
    assert service.post("/pull", {"model": "gemma3:4b"}).status_code == 200
    assert [seen["pulls"] for seen in nodes.counters().values()] == [1, 1, 2]
    where = service.get("/models").json()["installed_on"]
    assert where["gemma3:4b"] == ["a", "b", "c"]


def test_the_ollama_door_lists_what_every_node_holds(service, nodes):
    service.post("/switch", {"model": "phi4:mini", "node": "a"})
    service.post("/switch", {"model": "llama3.2:1b", "node": "c"})
    response = service.session.get(service.url + "/ollama/api/ps", timeout=30)
    assert sorted(model["name"] for model in response.json()["models"]) == ["llama3.2:1b", "phi4:mini"]


def test_unload_with_a_node_frees_that_node_only(service, nodes):
    service.post("/switch", {"model": "phi4:mini", "node": "a"})
    service.post("/switch", {"model": "llama3.2:1b", "node": "b"})
    assert service.post("/unload", {"node": "a"}).json()["unloaded"] == ["phi4:mini"]
    assert [node["current_model"] for node in service.get("/status").json()["nodes"]] == [None, "llama3.2:1b", None]
