"""Letting go of the engine wakes the worker when requests wait, whoever held it (llm/engine/residency.py).

A request stored while the engine is held finds it taken: its own wake-up returns
at once, so the release must start it (else it waits for the safety-net schedule).
The end-to-end tests (tests/e2e/test_wake_after_engine.py) show it with real
processes for /switch and /queue/process; here each holder once, through HTTP.
"""

import pytest
from rest_framework.test import APIClient

from llm.engine import residency
from llm.queue import tasks
from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "llama3.2:1b"


@pytest.fixture
def wake_ups(monkeypatch):
    """The worker's wake-ups, counted instead of run."""
    woken = []
    monkeypatch.setattr(tasks, "wake_generation_worker", lambda: woken.append(True))
    return woken


@pytest.fixture
def waiting(db):
    """A request stored while the engine was held: its own wake-up found it taken."""
    return GenerationRequest.objects.create(model=MODEL, prompt="stored meanwhile")


@pytest.fixture
def ollama_api(admin_token):
    """The Ollama door with an admin token: loading and unloading are an operator's."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_token[1]}")
    return client


def test_letting_go_of_the_engine_wakes_the_worker_when_a_request_waits(wake_ups, waiting):
    with residency.engine() as holder:
        assert holder is not None
        assert wake_ups == []
    assert wake_ups == [True]


def test_letting_go_of_the_engine_with_nothing_waiting_wakes_nobody(wake_ups, db):
    with residency.engine():
        pass
    assert wake_ups == []


def test_a_running_request_counts_as_work_since_its_worker_may_have_died(wake_ups, waiting):
    waiting.claim("a worker that died:1:x")
    with residency.engine():
        pass
    assert wake_ups == [True]


def test_a_caller_that_never_got_the_engine_wakes_nobody(wake_ups, waiting):
    with residency.engine():
        with residency.engine(wait=0) as second:
            assert second is None
        assert wake_ups == []
    assert wake_ups == [True]  # the holder's release only


def test_the_engine_let_go_after_an_error_still_wakes_the_worker(wake_ups, waiting):
    with pytest.raises(RuntimeError):
        with residency.engine():
            raise RuntimeError("a load went wrong")
    assert wake_ups == [True]


def test_a_switch_wakes_the_worker_when_it_ends(admin_api, standin, wake_ups, waiting):
    assert admin_api.post("/api/v1/llm/switch", {"model": "phi4:mini"}, format="json").status_code == 200
    assert wake_ups == [True]


def test_a_failed_switch_wakes_the_worker_too(admin_api, standin, wake_ups, waiting):
    standin.configure(installed=[MODEL])
    answer = admin_api.post("/api/v1/llm/switch", {"model": "phi4:mini"}, format="json")
    assert answer.status_code == 409 and "not installed" in answer.json()["message"]
    assert wake_ups == [True]


def test_an_unload_wakes_the_worker_when_it_ends(admin_api, standin, wake_ups, waiting):
    assert admin_api.post("/api/v1/llm/unload", format="json").status_code == 200
    assert wake_ups == [True]


def test_a_load_through_the_ollama_door_wakes_the_worker_when_it_ends(ollama_api, standin, wake_ups, waiting):
    answer = ollama_api.post("/ollama/api/generate", {"model": MODEL}, format="json")
    assert answer.status_code == 200 and answer.json()["done_reason"] == "load"
    assert wake_ups == [True]


def test_an_unload_through_the_ollama_door_wakes_the_worker_when_it_ends(ollama_api, standin, wake_ups, waiting):
    answer = ollama_api.post("/ollama/api/generate", {"model": MODEL, "keep_alive": 0}, format="json")
    assert answer.status_code == 200 and answer.json()["done_reason"] == "unload"
    assert wake_ups == [True]


def test_a_switch_from_the_dashboard_wakes_the_worker_when_it_ends(client, django_user_model, standin, wake_ups,
                                                                   waiting):
    client.force_login(django_user_model.objects.create_user("olga", password="operator", is_staff=True))
    assert client.post("/models/switch/", {"model": "phi4:mini"}).status_code == 302
    assert wake_ups == [True]


def test_queue_process_wakes_the_worker_for_what_it_left_waiting(admin_api, standin, wake_ups, waiting):
    GenerationRequest.objects.create(model=MODEL, prompt="also waiting")
    answer = admin_api.post("/api/v1/llm/queue/process", {"max_iterations": 1}, format="json")
    assert answer.json()["processed"] == 1
    assert wake_ups == [True]


def test_the_worker_hands_on_to_a_fresh_task_while_requests_wait(standin, wake_ups, waiting):
    GenerationRequest.objects.create(model=MODEL, prompt="next")
    assert tasks.run_generations() == 1
    assert wake_ups == [True]
    assert tasks.run_generations() == 1
    assert wake_ups == [True]  # nothing left: no wake-up
