"""What the stand-in's Ollama endpoints read from every call (ollama_api.py, embeddings.py).

``h`` is the server's request handler (server.py), ``faults`` the fault switches of the call.
"""

from __future__ import annotations

from llm.engine.keepalive import BadRequest, parse_keep_alive

DEFAULT_CONTEXT = 4096  # tokens, as /api/ps reports every model's context_length


def not_found(name: str) -> str:
    return f'model "{name}" not found, try pulling it first'


def model_name(req: dict) -> str:
    name = req.get("model") or req.get("name")
    if not name or not isinstance(name, str):
        raise BadRequest("model is required")
    return name


def installed(h, faults, req: dict, name: str, not_found_message: str):
    """What a call that runs a model needs: (state, spec, keep_alive, options) of the installed model
    it names, or None once an injected error or a 404 has been answered."""
    if injected_error(h, faults):
        return None
    state = h.server.state
    spec = state.installed_spec(name)
    if spec is None:
        h.send_error_json(404, not_found_message)
        return None
    keep_alive = parse_keep_alive(req.get("keep_alive"))
    options = req.get("options") or {}
    if not isinstance(options, dict):
        raise BadRequest("options must be an object")
    return state, spec, keep_alive, options


def injected_error(h, faults) -> bool:
    """The ``error`` fault: answer with it instead (True when it did)."""
    if not faults.get("error"):
        return False
    err = faults["error"] if isinstance(faults["error"], dict) else {}
    h.send_error_json(int(err.get("status", 500)), str(err.get("message", "stand-in injected error")))
    return True
