"""The engine in a fleet, in the test's own process: nodes, leases, residency and the runner per node."""

import os
import subprocess
import sys
import threading

import pytest
from django.utils import timezone

from llm import audit, catalog
from llm.engine import leases, nodes, residency
from llm.engine.ollama import ModelNotFound, OllamaUnavailable
from llm.models import AuditEntry, Lease, Node
from llm.queue import intake, linger, runner, tasks
from llm.rules import actions
from llm.rules.roles import Actor
from tests.support.service import REPO_ROOT, free_port, poll

pytestmark = pytest.mark.django_db(transaction=True)


def generate(model, prompt="hello"):
    return intake.submit_generation(None, model, prompt, options={"num_predict": 4})


def test_unset_it_is_one_node_named_default_at_ollama_host(standin, db):
    assert nodes.configured() == {"default": standin.url}
    assert [node.name for node in nodes.all_nodes()] == ["default"]
    assert Lease.engine("default") == "engine"


def test_each_node_has_its_own_lease(fleet):
    with residency.engine(node="a") as held_a, residency.engine(node="b") as held_b:
        assert held_a and held_b
        with residency.engine(node="a") as again:
            assert again is None


def test_a_switch_loads_on_the_node_asked_and_nowhere_else(fleet):
    residency.switch_to("phi4:mini", wait=5, node="b")
    assert residency.current_model("b") == "phi4:mini"
    assert residency.current_model("a") is None
    assert fleet["a"].counters()["loads"] == 0


def test_a_second_request_for_the_resident_model_asks_no_api_ps(standin, inline_worker):
    generate("llama3.2:1b")
    asked = standin.counters()["requests"].get("/api/ps", 0)
    done = generate("llama3.2:1b")
    done.refresh_from_db()
    assert done.status == "done"
    assert standin.counters()["requests"].get("/api/ps", 0) == asked


def test_two_models_run_on_two_nodes_with_one_model_each(fleet, inline_worker):
    first, second = generate("llama3.2:1b"), generate("phi4:mini")
    for request in (first, second):
        request.refresh_from_db()
        assert request.status == "done"
    assert {first.node, second.node} == {"a", "b"}
    for standin in fleet.values():
        assert standin.counters()["max_resident"] == 1


def test_a_request_runs_only_on_a_node_that_has_its_model(fleet, inline_worker):
    fleet["a"].configure(installed=["llama3.2:1b"])
    nodes.check(nodes.get("a"))
    request = generate("phi4:mini")
    request.refresh_from_db()
    assert (request.status, request.node) == ("done", "b")


def test_a_node_out_of_service_takes_nothing_new(fleet, inline_worker):
    nodes.all_nodes()
    Node.objects.filter(name="a").update(in_service=False)
    request = generate("llama3.2:1b")
    request.refresh_from_db()
    assert (request.status, request.node) == ("done", "b")


def test_a_node_that_stops_answering_is_marked_down_and_its_request_runs_elsewhere(fleet, idle_worker):
    nodes.all_nodes()
    Node.objects.filter(name="b").update(last_used_at=timezone.now())  # a has rested longer: tried first
    fleet["a"].configure(faults={"down": True})
    request = generate("llama3.2:1b")
    assert runner.drain(max_iterations=1) == 1  # tried on a (rested longest), which is down: back in line
    request.refresh_from_db()
    assert request.status == "queued" and "Node a stopped answering" in request.error
    assert not nodes.get("a").reachable
    runner.drain()
    request.refresh_from_db()
    assert (request.status, request.node) == ("done", "b")


def test_a_down_node_answers_again_after_its_pause(fleet):
    node = nodes.get("a")
    fleet["a"].configure(faults={"down": True})
    assert not nodes.check(node)
    Node.objects.filter(pk=node.pk).update(recheck_at=None)
    fleet["a"].configure(faults={})
    nodes.check_due()
    assert nodes.get("a").reachable


def test_work_waiting_for_a_node_held_from_another_host_is_looked_at_again_when_its_lease_runs_out(
        fleet, idle_worker, monkeypatch):
    generate("llama3.2:1b")
    woken = []
    monkeypatch.setattr(tasks, "wake_generation_worker", lambda: woken.append(Lease.current_holder(Lease.engine("a"))))
    assert Lease.try_acquire(Lease.engine("a"), "another-host:4242:0000beef", 3.0)  # a host that died mid-run
    assert Lease.try_acquire(Lease.engine("b"), leases.new_holder_id(), 60.0)  # this host's: it wakes us itself
    tasks.run_generations()
    assert woken == [None]  # once, after the other host's lease ran out (ours still held)
    assert Lease.current_holder(Lease.engine("b")) is not None


def test_a_task_waiting_for_a_node_held_from_another_host_ends_at_once_when_the_worker_stops(
        fleet, idle_worker, monkeypatch, settings, tmp_path):
    settings.LLM_RUN_DIR, settings.LLM_LEASE_SECONDS = tmp_path, 600
    generate("llama3.2:1b")
    woken = []
    monkeypatch.setattr(tasks, "wake_generation_worker", lambda: woken.append(True))
    assert Lease.try_acquire(Lease.engine("a"), "another-host:4242:0000beef", 600)
    assert Lease.try_acquire(Lease.engine("b"), leases.new_holder_id(), 600)
    linger.enable()  # as `manage.py worker` does; SIGTERM calls linger.stop()
    try:
        task = threading.Thread(target=tasks.run_generations)
        task.start()
        poll(tasks._waiting_for_a_node.locked, 30, message="the task to wait for the lease")
        linger.stop()
        task.join(timeout=60)  # the lease runs out in 600 s
        assert not task.is_alive() and woken == []  # the next start looks at the queue
    finally:
        linger.stop()
        linger._stopping = None


def test_a_node_held_from_this_host_is_not_waited_for(fleet, idle_worker, monkeypatch):
    generate("llama3.2:1b")
    woken = []
    monkeypatch.setattr(tasks, "wake_generation_worker", lambda: woken.append(True))
    for name in ("a", "b"):
        assert Lease.try_acquire(Lease.engine(name), leases.new_holder_id(), 60.0)
    assert tasks.run_generations() == 0
    assert woken == []  # its holder wakes a worker when it lets go


def test_a_pull_goes_to_every_node_by_default(fleet, inline_worker):
    for standin in fleet.values():
        standin.configure(installed=[])
    intake.submit_pulls(["llama3.2:1b"])
    assert [standin.counters()["pulls"] for standin in fleet.values()] == [1, 1]
    assert all("llama3.2:1b" in node.installed for node in nodes.all_nodes())


def test_status_has_a_card_per_node(fleet, api):
    residency.switch_to("phi4:mini", wait=5, node="b")
    body = api.get("/api/v1/llm/status").json()
    assert [(node["name"], node["url"], node["reachable"], node["current_model"]) for node in body["nodes"]] == [
        ("a", fleet["a"].url, True, None), ("b", fleet["b"].url, True, "phi4:mini")]
    assert body["current_model"] == "phi4:mini"


def test_the_url_shown_has_no_credentials(settings, db):
    settings.LLM_NODES = {"a": "http://user:secret@127.0.0.1:9"}
    assert nodes.all_nodes()[0].url == "http://127.0.0.1:9"


@pytest.mark.parametrize("value", ["a", "a=", "a=http://x,a=http://y", "a b=http://x"])
def test_a_bad_llm_nodes_stops_the_start_with_a_clear_message(tmp_path, value):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=REPO_ROOT, capture_output=True, text=True,
        env={**os.environ, "LLM_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
             "LLM_NODES": value},
    )
    assert result.returncode != 0 and "LLM_NODES" in result.stderr


def test_queue_positions_follow_the_fleet_order(fleet, idle_worker):
    from llm.queue import policy

    residency.switch_to("phi4:mini", wait=5, node="a")
    residency.switch_to("llama3.2:1b", wait=5, node="b")
    # b holds llama3.2:1b, so its requests go on b while a takes phi4:mini's: two lines side by side.
    requests = [generate(model) for model in ("llama3.2:1b", "llama3.2:1b", "phi4:mini", "llama3.2:1b")]
    positions = policy.queue_positions()
    assert [positions[request.pk] for request in requests] == [1, 3, 2, 4]
    assert policy.next_pk("a") == requests[2].pk
    assert policy.next_pk("b") == requests[0].pk


def _tags(standin):
    """The catalog names of the models `standin` has installed."""
    return {catalog.name_for_tag(model["name"]) for model in standin.request("GET", "/api/tags")["models"]}


def _remove(standin, name):
    if name in _tags(standin):
        standin.request("DELETE", "/api/delete", {"model": catalog.get(name).tag})


def test_deleting_a_model_removes_it_from_every_node_that_has_it(fleet, admin_token):
    _remove(fleet["b"], "phi4:mini")
    assert "phi4:mini" in _tags(fleet["a"])
    actions.delete(Actor(token=admin_token[0]), "phi4:mini")
    assert "phi4:mini" not in _tags(fleet["a"])
    entry = AuditEntry.objects.get(action=audit.Action.DELETE)
    assert entry.target == "phi4:mini" and entry.detail["nodes"] == ["a"]


def test_a_node_that_does_not_answer_does_not_stop_the_delete_on_the_others(fleet, settings, admin_token):
    settings.LLM_NODES = {"down": f"http://127.0.0.1:{free_port()}", **settings.LLM_NODES}
    with pytest.raises(OllamaUnavailable, match=r"could not be deleted on node down .*deleted on a, b"):
        actions.delete(Actor(token=admin_token[0]), "qwen3:4b")
    assert "qwen3:4b" not in _tags(fleet["a"]) and "qwen3:4b" not in _tags(fleet["b"])


def test_deleting_a_model_no_node_has_is_model_not_found(fleet, admin_token):
    for standin in fleet.values():
        _remove(standin, "gemma3:4b")
    with pytest.raises(ModelNotFound):
        actions.delete(Actor(token=admin_token[0]), "gemma3:4b")
    assert not AuditEntry.objects.filter(action=audit.Action.DELETE).exists()
