"""What the service and Ollama look like right now, for /status and the dashboard."""

from llm import catalog
from llm.engine import fit
from llm.queue import policy
from llm.models import GenerationRequest
from llm.engine.ollama import OllamaError, client


def installed_models(tags=None):
    """Ollama's installed models, named as the catalog names them."""
    return [
        {"name": catalog.name_for_tag(model["name"]), "size": model.get("size"), "modified_at": model.get("modified_at")}
        for model in (client().tags() if tags is None else tags)
    ]


def report():
    body = {
        "success": True,
        "ollama_running": True,
        "current_model": None,
        "queue_length": policy.queue_length(),
        "is_processing": GenerationRequest.objects.running().exists(),
        "available_models": catalog.names(),
        "installed_models": [],
        "models_fit": {},  # catalog name: fits in memory now (null: not installed)
        "ollama_standin": None,  # "echo" or "llama" when the project's stand-in plays Ollama
    }
    try:
        tags, resident = client().tags(), client().ps()
        body["current_model"] = catalog.name_for_tag(resident[0].get("model") or resident[0]["name"]) if resident else None
        body["installed_models"] = installed_models(tags)
        body["models_fit"] = fit.catalog_fit(tags, resident)
        body["ollama_standin"] = client().standin()
    except OllamaError as exc:
        body["ollama_running"] = False
        body["ollama_error"] = str(exc)
    return body


def models_fit():
    """Which catalog models fit in memory now ({} while Ollama cannot be asked)."""
    try:
        return fit.catalog_fit(client().tags(), client().ps())
    except OllamaError:
        return {}
