"""What the service and Ollama look like right now, for /status and the dashboard.

The seed's fields describe the fleet as one Ollama (on one box: the only one);
"nodes" has one entry per node of LLM_NODES.
"""

from llm import catalog
from llm.engine import fit, nodes
from llm.engine.ollama import OllamaError
from llm.models import GenerationRequest
from llm.queue import policy


def installed_models(tags=None):
    """Ollama's installed models, named as the catalog names them."""
    return [
        {"name": catalog.name_for_tag(model["name"]), "size": model.get("size"), "modified_at": model.get("modified_at")}
        for model in (nodes.ollama(nodes.first()).tags() if tags is None else tags)
    ]


def node_reports():
    """One entry per node: {name, url, reachable, current_model, running_request, installed, ...},
    asked of each Ollama now; each answer also marks the node up or down."""
    running = dict(GenerationRequest.objects.running().values_list("node", "request_id"))
    reports = []
    for node in nodes.all_nodes():
        report = {
            "name": node.name,
            "url": node.url,
            "in_service": node.in_service,
            "reachable": True,
            "current_model": None,
            "running_request": running.get(node.name) or (running.get("") if node.name == nodes.first() else None),
            "installed": [],
        }
        ollama = nodes.ollama(node.name)
        try:
            (tags, standin), resident = ollama.tags_and_standin(), ollama.ps()
            report["current_model"] = catalog.name_for_tag(_tag_of(resident[0])) if resident else None
            report["installed"] = installed_models(tags)
            report["models_fit"] = fit.catalog_fit(tags, resident, local=fit.is_local(ollama.host))
            report["ollama_standin"] = standin
            node.mark_up()
            node.saw_installed(_tag_of(model) for model in tags)
        except OllamaError as exc:
            report["reachable"] = False
            report["error"] = str(exc)
            node.mark_down(exc)
        reports.append(report)
    return reports


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
    fleet = node_reports()
    answering = [node for node in fleet if node["reachable"]]
    if not answering:
        body["ollama_running"] = False
        body["ollama_error"] = fleet[0]["error"] if len(fleet) == 1 else "; ".join(
            f"{node['name']}: {node['error']}" for node in fleet
        )
    else:
        body["current_model"] = next((node["current_model"] for node in answering if node["current_model"]), None)
        body["installed_models"] = _union(node["installed"] for node in answering)
        body["models_fit"] = _any_fits(node["models_fit"] for node in answering)
        body["ollama_standin"] = answering[0]["ollama_standin"]
    for node in fleet:
        node.pop("models_fit", None)
        node.pop("ollama_standin", None)
    body["nodes"] = fleet
    return body


def models_fit():
    """Which catalog models fit in memory now, on some node ({} while no node can be asked)."""
    fits = []
    for name in nodes.names():
        ollama = nodes.ollama(name)
        try:
            fits.append(fit.catalog_fit(ollama.tags(), ollama.ps(), local=fit.is_local(ollama.host)))
        except OllamaError:
            pass
    return _any_fits(fits)


def models_by_node():
    """{catalog name: [nodes that have it installed]}, as last seen (for /models)."""
    where = {}
    for node in nodes.all_nodes():
        for tag in node.installed or []:
            where.setdefault(catalog.name_for_tag(tag), []).append(node.name)
    return where


def _union(lists):
    seen = {}
    for models in lists:
        for model in models:
            seen.setdefault(model["name"], model)
    return list(seen.values())


def _any_fits(fit_maps):
    """True where a model fits on some node; None where no node knows; else False."""
    merged = {}
    for fits in fit_maps:
        for name, fits_here in fits.items():
            if merged.get(name) is not True and (fits_here is not None or name not in merged):
                merged[name] = fits_here
    return merged


def _tag_of(model):
    return catalog.normalize_tag(model.get("model") or model["name"])
