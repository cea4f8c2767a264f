import threading

import pytest

from llm.engine import pulls
from llm.models import ModelPull
from tests.support.service import poll

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(admin_api):
    """Pulling is for admin tokens: these tests call the API with an admin token."""
    return admin_api


def test_pull_downloads_a_model_and_answers_with_the_seeds_shape(api, standin, inline_worker):
    standin.configure(installed=[])
    response = api.post("/api/v1/llm/pull", {"model": "qwen2.5-coder:3b"}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "message": "Model qwen2.5-coder:3b pulled successfully",
        "model": "qwen2.5-coder:3b",
    }
    installed = [model["name"] for model in api.get("/api/v1/llm/status").json()["installed_models"]]
    assert installed == ["qwen2.5-coder:3b"]


def test_pull_records_progress_in_bytes(api, standin, inline_worker):
    standin.configure(installed=[])
    api.post("/api/v1/llm/pull", {"model": "llama3.2:1b"}, format="json")
    pull = ModelPull.objects.get()
    assert pull.status == "done"
    assert pull.total_bytes > 1_000_000_000
    assert pull.completed_bytes == pull.total_bytes
    assert len(pull.layers) >= 2


def test_pull_uses_the_catalogs_ollama_tag(api, standin, inline_worker):
    standin.configure(installed=[])
    api.post("/api/v1/llm/pull", {"model": "phi4:mini"}, format="json")
    assert ModelPull.objects.get().tag == "phi4-mini"
    assert api.get("/api/v1/llm/status").json()["installed_models"][0]["name"] == "phi4:mini"


def test_a_failed_pull_reports_ollamas_own_error(api, standin, inline_worker, settings):
    settings.LLM_CATALOG = {"nonexistent:1b": {"tag": "nonexistent:1b", "description": "Not in any registry"}}
    response = api.post("/api/v1/llm/pull", {"model": "nonexistent:1b"}, format="json")
    assert response.status_code == 502
    assert response.json() == {
        "success": False,
        "error": "Bad Gateway",
        "message": "Failed to pull nonexistent:1b: pull model manifest: file does not exist",
    }


def test_pull_of_a_model_outside_the_catalog_is_400(api, standin):
    response = api.post("/api/v1/llm/pull", {"model": "mixtral:8x22b"}, format="json")
    assert response.status_code == 400


def test_a_long_pull_answers_202_with_where_to_follow_it(api, standin, idle_worker, settings):
    settings.LLM_PULL_WAIT_SECONDS = 0.1
    response = api.post("/api/v1/llm/pull", {"model": "gemma3:4b"}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["success"] is True and body["model"] == "gemma3:4b"
    pull = ModelPull.objects.get()
    assert body["progress_url"] == f"/api/v1/llm/pulls/{pull.pk}"
    assert api.get(f"/api/v1/llm/pulls/{pull.pk}").json()["pull"]["status"] == "queued"


def test_asking_twice_for_the_same_model_reuses_the_pull_under_way(api, standin, idle_worker, settings):
    settings.LLM_PULL_WAIT_SECONDS = 0
    api.post("/api/v1/llm/pull", {"model": "gemma3:4b"}, format="json")
    api.post("/api/v1/llm/pull", {"model": "gemma3:4b"}, format="json")
    assert ModelPull.objects.count() == 1


def test_pull_all_pulls_every_catalog_model(api, standin, inline_worker):
    standin.configure(installed=[])
    response = api.post("/api/v1/llm/pull-all")
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Pulled 6 of 6 models"
    assert body["results"]["phi4:mini"] == {"success": True, "message": "Model phi4:mini pulled successfully"}
    assert len(body["results"]) == 6
    assert len(api.get("/api/v1/llm/status").json()["installed_models"]) == 6


def test_pull_all_goes_on_after_one_model_fails(api, standin, inline_worker, settings):
    settings.LLM_CATALOG = {
        "nonexistent:1b": {"tag": "nonexistent:1b", "description": "Not in any registry"},
        "llama3.2:1b": {"tag": "llama3.2:1b", "description": "Ultra-light"},
    }
    standin.configure(installed=[])
    body = api.post("/api/v1/llm/pull-all").json()
    assert body["message"] == "Pulled 1 of 2 models"
    assert body["results"]["nonexistent:1b"] == {
        "success": False,
        "message": "Failed to pull nonexistent:1b: pull model manifest: file does not exist",
    }
    assert body["results"]["llama3.2:1b"]["success"] is True


def test_pull_progress_can_be_listed(api, standin, inline_worker):
    api.post("/api/v1/llm/pull", {"model": "llama3.2:1b"}, format="json")
    [pull] = api.get("/api/v1/llm/pulls").json()["pulls"]
    assert pull["model"] == "llama3.2:1b" and pull["percent"] == 100.0 and pull["status"] == "done"


def test_a_missing_pull_is_404(api):
    assert api.get("/api/v1/llm/pulls/999").status_code == 404
    assert api.get("/api/v1/llm/pulls/abc").status_code == 404


def test_a_cancelled_pull_stops_and_stays_cancelled(api, standin):
    standin.configure(installed=[], pull_seconds=5)
    pull = pulls.request_pull("gemma3:4b")
    worker = threading.Thread(target=pulls.drain)
    worker.start()
    poll(lambda: ModelPull.objects.get(pk=pull.pk).completed_bytes > 0, 10, message="the pull to start")
    assert ModelPull.objects.get(pk=pull.pk).cancel()
    worker.join(timeout=10)
    assert not worker.is_alive()
    pull.refresh_from_db()
    assert pull.status == "cancelled"
    installed = [model["name"] for model in api.get("/api/v1/llm/status").json()["installed_models"]]
    assert "gemma3:4b" not in installed
