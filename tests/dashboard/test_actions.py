"""The dashboard's buttons: each answers with a message, on success and on failure."""

import pytest
from django.utils import timezone

from llm.engine import residency
from llm.dashboard import views
from llm.models import AuditEntry, GenerationRequest, ModelPull
from tests.dashboard.conftest import messages_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_pull_starts_a_pull_and_says_where_to_follow_it(staff_client, standin, idle_worker):
    response = staff_client.post("/models/pull/", {"model": "gemma3:4b"}, follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert messages_of(response) == ["Pulling gemma3:4b: follow it under Pulls."]
    assert ModelPull.objects.get().model == "gemma3:4b"
    assert response.context["active_pulls"][0].model == "gemma3:4b"
    assert audit_trail() == [("pull", "gemma3:4b", "olga")]


def test_pull_downloads_the_model_on_the_worker(staff_client, standin, inline_worker):
    standin.configure(installed=[])
    staff_client.post("/models/pull/", {"model": "llama3.2:1b"})
    assert ModelPull.objects.get().status == "done"
    response = staff_client.get("/")
    assert [model["name"] for model in response.context["installed"]] == ["llama3.2:1b"]
    assert response.context["recent_pulls"][0].percent == 100.0


def test_pull_of_a_model_outside_the_catalog_is_refused_with_a_message(staff_client, standin, idle_worker):
    response = staff_client.post("/models/pull/", {"model": "mixtral:8x22b"}, follow=True)
    assert messages_of(response) == ["Unknown model: mixtral:8x22b is not in the catalog."]
    assert not ModelPull.objects.exists()


def test_a_pull_that_ollama_cannot_find_shows_ollamas_error(staff_client, standin, inline_worker, settings):
    settings.LLM_CATALOG = {"nonexistent:1b": {"tag": "nonexistent:1b", "description": "Not in any registry"}}
    staff_client.post("/models/pull/", {"model": "nonexistent:1b"})
    response = staff_client.get("/")
    [pull] = response.context["recent_pulls"]
    assert pull.status == "failed"
    assert b"pull model manifest: file does not exist" in response.content


def test_pull_all_pulls_every_model_of_the_catalog(staff_client, standin, idle_worker):
    response = staff_client.post("/models/pull-all/", follow=True)
    assert messages_of(response) == ["Pulling all 6 models of the catalog."]
    assert ModelPull.objects.count() == 6
    assert [action for action, _, _ in audit_trail()] == ["pull-all"]


def test_cancel_stops_a_pull(staff_client, standin, idle_worker):
    pull = ModelPull.objects.create(model="gemma3:4b", tag="gemma3:4b")
    response = staff_client.post(f"/pulls/{pull.pk}/cancel/", follow=True)
    assert messages_of(response) == ["Cancelled the pull of gemma3:4b."]
    pull.refresh_from_db()
    assert pull.status == "cancelled"


def test_cancel_of_a_finished_pull_says_it_had_ended(staff_client, standin):
    pull = ModelPull.objects.create(model="gemma3:4b", tag="gemma3:4b", status="done", finished_at=timezone.now())
    response = staff_client.post(f"/pulls/{pull.pk}/cancel/", follow=True)
    assert messages_of(response) == ["The pull of gemma3:4b had already ended (done)."]


def test_cancel_of_an_unknown_pull_is_404(staff_client):
    assert staff_client.post("/pulls/999/cancel/").status_code == 404


def test_switch_loads_the_model(staff_client, standin):
    response = staff_client.post("/models/switch/", {"model": "phi4:mini"}, follow=True)
    assert messages_of(response) == ["Switched to phi4:mini."]
    assert residency.current_model() == "phi4:mini"
    assert response.context["ollama"]["loaded"]["name"] == "phi4:mini"
    assert ("switch", "phi4:mini", "olga") in audit_trail()


def test_switch_to_a_model_that_is_not_installed_says_to_pull_it(staff_client, standin):
    standin.configure(installed=["llama3.2:1b"])
    response = staff_client.post("/models/switch/", {"model": "gemma3:4b"}, follow=True)
    assert messages_of(response) == [
        "Could not switch to gemma3:4b: Model gemma3:4b is not installed in Ollama; pull it first"
    ]
    assert ("switch", "gemma3:4b", "olga") not in audit_trail()


def test_switch_when_ollama_is_down_says_so(staff_client, standin):
    standin.configure(faults={"down": True})
    response = staff_client.post("/models/switch/", {"model": "phi4:mini"}, follow=True)
    [message] = messages_of(response)
    assert message.startswith("Could not switch to phi4:mini: Ollama is not reachable at http://127.0.0.1:")


def test_switch_while_a_generation_holds_the_model_gives_up_and_says_so(staff_client, standin, monkeypatch):
    monkeypatch.setattr(views, "ACTION_WAIT_SECONDS", 0.2)
    with residency.engine() as holder:
        assert holder is not None
        response = staff_client.post("/models/switch/", {"model": "phi4:mini"}, follow=True)
    assert messages_of(response) == [
        "Could not switch to phi4:mini: another request held the model for over 0.2s"
    ]


def test_switch_to_a_model_outside_the_catalog_is_refused(staff_client, standin):
    response = staff_client.post("/models/switch/", {"model": "mixtral:8x22b"}, follow=True)
    assert messages_of(response) == ["Unknown model: mixtral:8x22b is not in the catalog."]


def test_unload_frees_the_memory_now(staff_client, standin):
    residency.switch_to("llama3.2:3b", wait=5)
    response = staff_client.post("/models/unload/", follow=True)
    assert messages_of(response) == ["Unloaded llama3.2:3b: its memory is free."]
    assert residency.current_model() is None
    assert standin.counters()["unloads"] == 1
    assert ("unload", "llama3.2:3b", "olga") in audit_trail()


def test_unload_with_nothing_loaded_says_so(staff_client, standin):
    response = staff_client.post("/models/unload/", follow=True)
    assert messages_of(response) == ["No model was loaded."]


def test_unload_when_ollama_is_down_says_so(staff_client, standin):
    standin.configure(faults={"down": True})
    [message] = messages_of(staff_client.post("/models/unload/", follow=True))
    assert message.startswith("Could not unload: Ollama is not reachable at http://127.0.0.1:")


def test_unload_while_a_generation_holds_the_model_gives_up_and_says_so(staff_client, standin, monkeypatch):
    monkeypatch.setattr(views, "ACTION_WAIT_SECONDS", 0.2)
    with residency.engine():
        [message] = messages_of(staff_client.post("/models/unload/", follow=True))
    assert message == "Could not unload: another request held the model for over 0.2s"


def test_clear_queue_cancels_the_waiting_requests_but_not_the_running_one(staff_client, standin):
    running = GenerationRequest.objects.create(model="llama3.2:1b", prompt="busy", status="running")
    waiting = [GenerationRequest.objects.create(model="llama3.2:1b", prompt=f"job {n}") for n in range(3)]
    response = staff_client.post("/queue/clear/", follow=True)
    assert messages_of(response) == ["Cleared 3 waiting requests from the queue."]
    assert {request.status for request in GenerationRequest.objects.filter(pk__in=[w.pk for w in waiting])} == {
        "cancelled"
    }
    running.refresh_from_db()
    assert running.status == "running"
    [entry] = AuditEntry.objects.filter(action="queue.clear")
    assert (entry.user.username, entry.detail) == ("olga", {"cleared": 3})


def test_the_clear_queue_button_asks_for_confirmation(staff_client, standin):
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="job")
    html = staff_client.get("/").content.decode()
    assert "return confirm(" in html and ">Clear queue</button>" in html


def audit_trail():
    """(action, target, username) of the audit log's entries made by people, oldest first."""
    entries = AuditEntry.objects.exclude(user=None).order_by("created_at", "pk")
    return [(entry.action, entry.target, entry.user.username) for entry in entries]
