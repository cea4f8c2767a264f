"""The single-model rule: never two models in Ollama's memory, whoever loads."""

import pytest

from llm.engine import residency

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(admin_api):
    """Switching is for admin tokens: these tests call the API with an admin token."""
    return admin_api


def generate(api, model):
    return api.post("/api/v1/llm/generate", {"model": model, "prompt": f"hello {model}"}, format="json")


def test_generating_with_another_model_unloads_the_first(api, standin, inline_worker):
    # 4 GiB of stand-in RAM holds one of these models, never two.
    for model in ["gemma3:4b", "qwen3:4b", "gemma3:4b", "phi4:mini"]:
        assert generate(api, model).status_code == 200
    counters = standin.counters()
    assert counters["max_resident"] == 1
    assert counters["load_failures"] == 0
    assert counters["loads"] == 4
    assert counters["unloads"] >= 3


def test_the_same_model_is_not_reloaded(api, standin, inline_worker):
    for _ in range(3):
        generate(api, "llama3.2:1b")
    assert standin.counters()["loads"] == 1


def test_switch_unloads_then_loads(api, standin):
    assert api.post("/api/v1/llm/switch", {"model": "gemma3:4b"}, format="json").status_code == 200
    response = api.post("/api/v1/llm/switch", {"model": "phi4:mini"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Switched to model phi4:mini", "model": "phi4:mini"}
    counters = standin.counters()
    assert counters["resident"] == ["phi4-mini:latest"]
    assert counters["max_resident"] == 1


def test_status_reads_back_the_catalog_name_after_a_switch(api, standin):
    api.post("/api/v1/llm/switch", {"model": "phi4:mini"}, format="json")
    assert api.get("/api/v1/llm/status").json()["current_model"] == "phi4:mini"


def test_switch_to_a_model_that_is_not_installed_is_a_conflict(api, standin):
    standin.configure(installed=["llama3.2:1b"])
    response = api.post("/api/v1/llm/switch", {"model": "gemma3:4b"}, format="json")
    assert response.status_code == 409
    assert response.json()["message"] == "Model gemma3:4b is not installed in Ollama; pull it first"


def test_switch_to_an_unknown_model_is_400(api, standin):
    response = api.post("/api/v1/llm/switch", {"model": "mixtral:8x22b"}, format="json")
    assert response.status_code == 400


def test_switch_waits_for_the_engine_and_gives_up_with_409(api, standin, settings):
    settings.LLM_GENERATE_WAIT_SECONDS = 0.2
    with residency.engine() as holder:
        assert holder is not None
        response = api.post("/api/v1/llm/switch", {"model": "gemma3:4b"}, format="json")
    assert response.status_code == 409
    assert "another request held the model" in response.json()["message"]
    assert standin.counters()["loads"] == 0


def test_switch_when_ollama_is_down_is_503(api, standin):
    standin.configure(faults={"down": True})
    response = api.post("/api/v1/llm/switch", {"model": "gemma3:4b"}, format="json")
    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"


def test_switch_to_a_model_that_is_not_installed_keeps_the_loaded_one(admin_api, standin):
    assert admin_api.post("/api/v1/llm/switch", {"model": "llama3.2:1b"}, format="json").status_code == 200
    standin.configure(installed=["llama3.2:1b"])
    response = admin_api.post("/api/v1/llm/switch", {"model": "gemma3:4b"}, format="json")
    assert response.status_code == 409
    assert standin.counters()["resident"] == ["llama3.2:1b"]


def test_unload_frees_the_model_now(admin_api, standin):
    admin_api.post("/api/v1/llm/switch", {"model": "phi4:mini"}, format="json")
    response = admin_api.post("/api/v1/llm/unload")
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Unloaded phi4:mini", "unloaded": ["phi4:mini"]}
    assert standin.counters()["resident"] == []
    assert admin_api.post("/api/v1/llm/unload").json()["message"] == "No model was loaded"
