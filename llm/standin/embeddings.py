"""The stand-in's /api/embed and legacy /api/embeddings, shaped as in ollama/ollama docs/api.md.

Vectors are deterministic from the text (hashed words); the model is loaded as for a generation.
"""

from __future__ import annotations

import math
import time

from .backend import hashed_embedding
from llm.engine.keepalive import BadRequest
from .calls import DEFAULT_CONTEXT, installed, model_name, not_found
from .models import ModelSpec
from .state import LoadError

CONTEXT_EXCEEDED = "the input length exceeds the context length"


def embed(h, faults) -> None:
    """/api/embed: one normalized vector per input, cut to ``dimensions`` (and normalized again)."""
    req = h.json_body()
    _embedding(h, faults, req, _embed_input(req.get("input")), legacy=False)


def embeddings(h, faults) -> None:
    """The legacy /api/embeddings: one ``prompt``, one vector, not normalized."""
    req = h.json_body()
    prompt = req.get("prompt") or ""
    if not isinstance(prompt, str):
        raise BadRequest("prompt must be a string")
    _embedding(h, faults, req, [prompt] if prompt else [], legacy=True)


def _embed_input(value) -> list[str]:
    """Ollama's rule: a string (empty: no input) or a list of strings; anything else is refused."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise BadRequest("invalid input type")


def _embedding(h, faults, req: dict, texts: list[str], legacy: bool) -> None:
    started = time.monotonic()
    name = model_name(req)
    found = installed(h, faults, req, name, not_found(name) if legacy else f"model '{name}' not found")
    if found is None:
        return
    state, spec, keep_alive, options = found
    truncate, dimensions = req.get("truncate", True), req.get("dimensions") or 0
    if not isinstance(truncate, bool):
        raise BadRequest("truncate must be true or false")
    if isinstance(dimensions, bool) or not isinstance(dimensions, int):
        raise BadRequest("dimensions must be an integer")
    num_ctx = options.get("num_ctx")
    context = num_ctx if isinstance(num_ctx, int) and not isinstance(num_ctx, bool) and num_ctx > 0 else DEFAULT_CONTEXT

    state.begin_generation()
    try:
        try:
            resident, load_ns = state.acquire(spec, keep_alive)
        except LoadError as exc:
            status, body = 500, {"error": str(exc)}
        else:
            try:
                status, body = _vectors(h, spec, texts, context, truncate, dimensions, legacy)
            finally:
                # Released (and unloaded for keep_alive 0) before the client hears back.
                state.release(resident)
    finally:
        state.end_generation()
    if status == 200 and not legacy:
        body = {"model": name, **body}
        if texts:
            body.update(total_duration=int((time.monotonic() - started) * 1e9), load_duration=load_ns)
    h.send_json(status, body)


def _vectors(h, spec: ModelSpec, texts: list[str], context: int, truncate: bool, dimensions: int,
             legacy: bool) -> tuple[int, dict]:
    state, backend = h.server.state, h.server.backend
    if not texts:  # nothing to embed: the model is loaded, that is all
        return 200, {"embedding": []} if legacy else {"embeddings": []}
    state.count_embed(spec)
    _, token_seconds, _ = state.timing()
    vectors, count = [], 0
    for text in texts:
        tokens = backend.embedding_tokens(spec.name, text)
        if len(tokens) > context:
            if not truncate:
                return 400, {"error": CONTEXT_EXCEEDED}
            tokens = tokens[:context]
        if token_seconds > 0:
            time.sleep(token_seconds)
        count += len(tokens)
        vector = hashed_embedding(spec.name, tokens)
        if not legacy:
            vector = _normalized(vector)
            if 0 < dimensions < len(vector):
                vector = _normalized(vector[:dimensions])
        vectors.append(vector)
    if legacy:
        return 200, {"embedding": vectors[0]}
    return 200, {"embeddings": vectors, "prompt_eval_count": count}


def _normalized(vector: list[float]) -> list[float]:
    scale = 1.0 / max(math.sqrt(sum(value * value for value in vector)), 1e-12)
    return [value * scale for value in vector]
