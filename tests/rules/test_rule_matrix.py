"""Every rule of the core, through every door: native API, Ollama door, OpenAI door, dashboard.

Roles (who may load, unload, switch, pull, delete), the rate of generations and of calls,
the size of the text a model reads, the queue bound, and the audit log. Each door answers
a refusal in its own error shape (tests/rules/conftest.py reads them).
"""

from dataclasses import dataclass, field
from typing import Callable

import pytest

from llm import catalog
from llm.engine import residency
from llm.models import ApiToken, AuditEntry, GenerationRequest, ModelPull
from llm.engine.ollama import client as ollama
from tests.rules.conftest import (
    ERROR_READERS,
    GENERATIONS,
    MODEL,
    NATIVE,
    READS,
    TEXT_FIELDS,
    client_for,
    text_id,
    way_id,
)

ADMIN_ONLY = "This needs an admin token; this token's role is generate"


# --- Changes of state: who may, and the audit log ----------------------------------------------


def _loaded():
    return residency.current_model()


def _installed():
    return {catalog.name_for_tag(model.get("model") or model["name"]) for model in ollama().tags()}


def _preload(name="qwen3:4b"):
    def setup():
        residency.switch_to(name, wait=10)

    return setup


def _queue_one():
    GenerationRequest.objects.create(model=MODEL, prompt="waiting")


def _one_pull():
    ModelPull.objects.create(model="gemma3:4b", tag=catalog.get("gemma3:4b").tag)


@dataclass(frozen=True)
class Change:
    """A change of state through one door, what it leaves behind, and its audit entry."""

    id: str
    door: str
    send: Callable
    happened: Callable[[], bool]
    audit: str
    target: str
    setup: Callable[[], None] = field(default=lambda: None)


def _post(path, body=None):
    return lambda client: client.post(path, body, format="json")


def _delete(path, body):
    return lambda client: client.delete(path, body, format="json")


def _form(path, data=None):
    return lambda client: client.post(path() if callable(path) else path, data or {})


API_CHANGES = [
    Change("native switch", "native", _post(f"{NATIVE}/switch", {"model": "gemma3:4b"}),
           lambda: _loaded() == "gemma3:4b", "switch", "gemma3:4b"),
    Change("native unload", "native", _post(f"{NATIVE}/unload"), lambda: _loaded() is None, "unload", "qwen3:4b",
           _preload()),
    Change("native pull", "native", _post(f"{NATIVE}/pull", {"model": "gemma3:4b"}),
           lambda: ModelPull.objects.filter(model="gemma3:4b").exists(), "pull", "gemma3:4b"),
    Change("ollama load by generate", "ollama", _post("/ollama/api/generate", {"model": "gemma3:4b"}),
           lambda: _loaded() == "gemma3:4b", "switch", "gemma3:4b"),
    Change("ollama load by chat", "ollama", _post("/ollama/api/chat", {"model": "gemma3:4b"}),
           lambda: _loaded() == "gemma3:4b", "switch", "gemma3:4b"),
    Change("ollama unload by generate", "ollama", _post("/ollama/api/generate", {"model": "qwen3:4b", "keep_alive": 0}),
           lambda: _loaded() is None, "unload", "qwen3:4b", _preload()),
    Change("ollama unload by chat", "ollama", _post("/ollama/api/chat", {"model": "qwen3:4b", "keep_alive": 0}),
           lambda: _loaded() is None, "unload", "qwen3:4b", _preload()),
    Change("ollama pull", "ollama", _post("/ollama/api/pull", {"model": "gemma3:4b"}),
           lambda: ModelPull.objects.filter(model="gemma3:4b").exists(), "pull", "gemma3:4b"),
    Change("ollama delete", "ollama", _delete("/ollama/api/delete", {"model": "phi4:mini"}),
           lambda: "phi4:mini" not in _installed(), "delete", "phi4:mini"),
]

DASHBOARD_CHANGES = [
    Change("dashboard switch", "dashboard", _form("/models/switch/", {"model": "gemma3:4b"}),
           lambda: _loaded() == "gemma3:4b", "switch", "gemma3:4b"),
    Change("dashboard unload", "dashboard", _form("/models/unload/"), lambda: _loaded() is None, "unload", "qwen3:4b",
           _preload()),
    Change("dashboard pull", "dashboard", _form("/models/pull/", {"model": "gemma3:4b"}),
           lambda: ModelPull.objects.filter(model="gemma3:4b").exists(), "pull", "gemma3:4b"),
    Change("dashboard cancel pull", "dashboard", _form(lambda: f"/pulls/{ModelPull.objects.get().pk}/cancel/"),
           lambda: ModelPull.objects.get().status == "cancelled", "pull.cancel", "gemma3:4b", _one_pull),
    Change("dashboard clear queue", "dashboard", _form("/queue/clear/"),
           lambda: not GenerationRequest.objects.waiting().exists(), "queue.clear", "queue", _queue_one),
]


def change_id(change):
    return change.id


@pytest.fixture
def quick_pulls(settings, idle_worker):
    """Pulls are stored, not run: what counts here is who may ask and what is written down."""
    settings.LLM_PULL_WAIT_SECONDS = 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", API_CHANGES, ids=change_id)
def test_it_refuses_a_change_of_state_to_a_generate_token_in_the_doors_shape(api, standin, quick_pulls, change):
    change.setup()
    before = AuditEntry.objects.exclude(action="model.load").count()
    response = change.send(api)
    assert response.status_code == 403
    assert ERROR_READERS[change.door](response) == ADMIN_ONLY
    assert not change.happened()
    assert AuditEntry.objects.exclude(action="model.load").count() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", API_CHANGES, ids=change_id)
def test_it_lets_an_admin_token_change_state_and_audits_it_naming_the_token(
    admin_api, admin_token, standin, quick_pulls, change
):
    change.setup()
    response = change.send(admin_api)
    assert response.status_code in (200, 202), response.content
    assert change.happened()
    [entry] = AuditEntry.objects.filter(action=change.audit)
    assert (entry.target, entry.token, entry.user) == (change.target, admin_token[0], None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", DASHBOARD_CHANGES, ids=change_id)
def test_it_refuses_a_change_of_state_to_a_user_who_is_not_staff(member_client, standin, quick_pulls, change):
    change.setup()
    assert change.send(member_client).status_code == 403
    assert not change.happened()
    assert not AuditEntry.objects.exclude(action="model.load").exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", DASHBOARD_CHANGES, ids=change_id)
def test_it_lets_staff_change_state_on_the_dashboard_and_audits_it_naming_the_user(
    staff_client, django_user_model, standin, quick_pulls, change
):
    change.setup()
    assert change.send(staff_client).status_code == 302
    assert change.happened()
    [entry] = AuditEntry.objects.filter(action=change.audit)
    operator = django_user_model.objects.get(username="olga")
    assert (entry.target, entry.token, entry.user) == (change.target, None, operator)


@pytest.mark.django_db
def test_a_generation_through_any_door_leaves_no_audit_entry(api, idle_worker):
    for way in GENERATIONS:
        assert way.send(api).status_code == way.accepted
    assert GenerationRequest.objects.count() == len(GENERATIONS)
    assert not AuditEntry.objects.exists()


# --- The rate of generations, and of every call ------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("way", GENERATIONS, ids=way_id)
def test_it_holds_the_generation_rate_through_every_door(api, rates, idle_worker, way):
    rates(**{"generation.generate": "2/min"})
    responses = [way.send(api) for _ in range(3)]
    assert [response.status_code for response in responses] == [way.accepted, way.accepted, 429]
    assert way.error(responses[-1]).startswith("Request was throttled")
    assert 1 <= int(responses[-1]["Retry-After"]) <= 61
    assert GenerationRequest.objects.count() == 2


@pytest.mark.django_db
def test_it_counts_one_generation_rate_per_token_across_the_doors(api, rates, idle_worker):
    rates(**{"generation.generate": "3/min"})
    assert [way.send(api).status_code for way in GENERATIONS[:3]] == [202, 200, 200]
    assert [way.send(api).status_code for way in GENERATIONS[3:]] == [429, 429]
    _, bobs_key = ApiToken.issue("bob's script")
    assert GENERATIONS[4].send(client_for(bobs_key)).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("door, path", READS, ids=[door for door, _ in READS])
def test_it_holds_the_rate_of_every_call_through_every_door(api, rates, standin, door, path):
    rates(**{"token.generate": "2/min"})
    responses = [api.get(path) for _ in range(3)]
    assert [response.status_code for response in responses] == [200, 200, 429]
    assert ERROR_READERS[door](responses[-1]).startswith("Request was throttled")
    assert 1 <= int(responses[-1]["Retry-After"]) <= 61


# --- The size of what a model reads ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("case", TEXT_FIELDS, ids=text_id)
def test_it_refuses_text_over_the_limit_through_every_door_with_413(api, settings, idle_worker, case):
    way, where = case
    settings.LLM_MAX_PROMPT_CHARS = 10
    response = way.send(api, "x" * 11, where)
    assert response.status_code == 413
    assert "longer than the 10 characters allowed" in way.error(response)
    assert not GenerationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("case", TEXT_FIELDS, ids=text_id)
def test_it_accepts_text_at_the_limit_through_every_door(api, settings, idle_worker, case):
    way, where = case
    settings.LLM_MAX_PROMPT_CHARS = 10
    assert way.send(api, "x" * 10, where).status_code == way.accepted


@pytest.mark.django_db
def test_it_counts_the_messages_of_a_chat_together(api, settings, idle_worker):
    settings.LLM_MAX_PROMPT_CHARS = 10
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "x" * 6}] * 2}
    for path in ("/ollama/api/chat", "/v1/chat/completions"):
        assert api.post(path, body, format="json").status_code == 413
    assert not GenerationRequest.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_prompt_over_the_limit_on_the_dashboard(staff_client, settings, idle_worker):
    settings.LLM_MAX_PROMPT_CHARS = 10
    response = staff_client.post("/try/", {"model": MODEL, "prompt": "x" * 11})
    assert response.status_code == 200
    assert "longer than the 10 characters allowed" in response.content.decode()
    assert not GenerationRequest.objects.exists()


# --- The queue bound ------------------------------------------------------------------------------------


@pytest.fixture
def full_queue(settings):
    settings.LLM_MAX_QUEUE_LENGTH = 2
    for _ in range(2):
        GenerationRequest.objects.create(model=MODEL, prompt="waiting")


@pytest.mark.django_db
@pytest.mark.parametrize("way", GENERATIONS, ids=way_id)
def test_it_refuses_a_generation_past_the_queue_bound_through_every_door_with_503(api, idle_worker, full_queue, way):
    response = way.send(api)
    assert response.status_code == 503
    assert way.error(response).startswith("The queue is full")
    assert int(response["Retry-After"]) >= 1
    assert GenerationRequest.objects.count() == 2


@pytest.mark.django_db
def test_it_refuses_a_prompt_past_the_queue_bound_on_the_dashboard(staff_client, idle_worker, full_queue):
    response = staff_client.post("/try/", {"model": MODEL, "prompt": "hello"})
    assert response.status_code == 200
    assert "The queue is full" in response.content.decode()
    assert GenerationRequest.objects.count() == 2
