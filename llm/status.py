"""What the service and Ollama look like right now, for /status and the dashboard."""

from llm import catalog, residency, scheduling
from llm.models import GenerationRequest
from llm.ollama import OllamaError, client


def installed_models():
    """Ollama's installed models, named as the catalog names them."""
    return [
        {"name": catalog.name_for_tag(model["name"]), "size": model.get("size"), "modified_at": model.get("modified_at")}
        for model in client().tags()
    ]


def report():
    body = {
        "success": True,
        "ollama_running": True,
        "current_model": None,
        "queue_length": scheduling.queue_length(),
        "is_processing": GenerationRequest.objects.running().exists(),
        "available_models": catalog.names(),
        "installed_models": [],
        "ollama_standin": None,  # "echo" or "llama" when the project's stand-in plays Ollama
    }
    try:
        body["current_model"] = residency.current_model()
        body["installed_models"] = installed_models()
        body["ollama_standin"] = client().standin()
    except OllamaError as exc:
        body["ollama_running"] = False
        body["ollama_error"] = str(exc)
    return body
