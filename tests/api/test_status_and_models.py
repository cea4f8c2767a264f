import pytest

from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db

SEED_MODELS = {
    "llama3.2:3b": "General Purpose / Balanced",
    "phi4:mini": "Logic & Reasoning / 3.8B",
    "qwen3:4b": "Coding & Multilingual",
    "gemma3:4b": "Advanced Reasoning",
    "llama3.2:1b": "Ultra-light / Summarization",
    "qwen2.5-coder:3b": "Specialized Programming",
}


def test_models_lists_the_catalog_with_descriptions(api):
    body = api.get("/api/v1/llm/models").json()
    assert body["success"] is True and body["models"] == SEED_MODELS


def test_the_catalog_is_configurable(api, settings):
    settings.LLM_CATALOG = {"tiny": {"tag": "smollm2:135m", "description": "Tiny"}}
    assert api.get("/api/v1/llm/models").json()["models"] == {"tiny": "Tiny"}


def test_status_reports_ollama_and_the_queue(api, standin):
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="a")
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="b", status="running")
    body = api.get("/api/v1/llm/status").json()
    assert body["success"] is True
    assert body["ollama_running"] is True
    assert body["current_model"] is None
    assert body["queue_length"] == 1
    assert body["is_processing"] is True
    assert body["available_models"] == list(SEED_MODELS)
    entry = next(model for model in body["installed_models"] if model["name"] == "phi4:mini")
    assert entry["size"] > 0 and entry["modified_at"]


def test_status_says_ollama_is_down_instead_of_failing(api, standin):
    standin.configure(faults={"down": True})
    response = api.get("/api/v1/llm/status")
    assert response.status_code == 200
    body = response.json()
    assert body["ollama_running"] is False
    assert body["current_model"] is None and body["installed_models"] == []
    assert "not reachable" in body["ollama_error"]


def test_status_with_nothing_listening(api, settings):
    settings.OLLAMA_HOST = "http://127.0.0.1:9"
    assert api.get("/api/v1/llm/status").json()["ollama_running"] is False


def test_models_says_which_catalog_models_fit(api, standin, tmp_path, settings):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemAvailable:   2621440 kB\n")  # 2.5 GiB
    settings.LLM_MEMINFO_PATH = str(meminfo)
    fits = api.get("/api/v1/llm/models").json()["models_fit"]
    assert fits["llama3.2:1b"] is True and fits["gemma3:4b"] is False


def test_models_answers_while_ollama_is_down(api, standin):
    standin.configure(faults={"down": True})
    body = api.get("/api/v1/llm/models").json()
    assert body["models"] == SEED_MODELS and body["models_fit"] == {}


def test_status_names_the_standin_backend_that_plays_ollama(api, standin):
    assert api.get("/api/v1/llm/status").json()["ollama_standin"] == "echo"
