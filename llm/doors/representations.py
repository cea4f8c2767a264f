"""The JSON bodies of the API's success forms."""

import json
from contextlib import aclosing

from llm.queue import follow
from llm.queue import policy
from llm.queue import positions  # the shared board: the queue ordered once per change
from llm.models import GenerationRequest


def generation_result(generation):
    """The contract's "Success" form for a finished generation. Its queue length is counted,
    not read from the shared board: one statement, where the board looks with two."""
    return {
        "success": True,
        "request_id": generation.request_id,
        "response": generation.response,
        "model": generation.model,
        "done": True,
        "queue_length": policy.queue_length(),
    }


def generation_queued(generation):
    """The contract's "Queued" form. A request already running stands at position 0."""
    place, length = positions.queue_standing(generation, shared=True)
    return {
        "success": True,
        "message": "Request running" if place is None else "Request queued",
        "request_id": generation.request_id,
        "queue_position": place or 0,
        "queue_length": length,
    }


def generation_detail(generation):
    """GET /requests/<id>: where a request stands, and its result once it has one."""
    Status = GenerationRequest.Status
    body = {
        "success": True,
        "request_id": generation.request_id,
        "model": generation.model,
        "status": generation.status,
        "done": generation.status == Status.DONE,
        "created_at": generation.created_at,
        "started_at": generation.started_at,
        "finished_at": generation.finished_at,
    }
    if generation.status == Status.QUEUED:
        body["queue_position"], body["queue_length"] = positions.queue_standing(generation)
    if generation.status == Status.DONE:
        body["response"] = generation.response
        body["done_reason"] = generation.done_reason
        body.update(_present(thinking=generation.thinking, tool_calls=generation.tool_calls))
        body.update({name: getattr(generation, name) for name in generation.OLLAMA_COUNTERS})
    if generation.error:
        body["error"] = generation.error
    return body


def _present(**fields):
    """The fields that have a value: a model's thinking and tool calls appear only when it gave some
    (through the Ollama door: our own API asks for neither, but a model may think unasked)."""
    return {name: value for name, value in fields.items() if value}


def pull_progress(pull):
    return {
        "id": pull.pk,
        "model": pull.model,
        "status": pull.status,
        "detail": pull.detail,
        "completed": pull.completed_bytes,
        "total": pull.total_bytes,
        "percent": pull.percent,
        "error": pull.error or None,
        "created_at": pull.created_at,
        "started_at": pull.started_at,
        "finished_at": pull.finished_at,
    }


def pull_outcome(pull):
    """One model's entry in the seed's pull results."""
    if pull.status == pull.Status.DONE:
        return {"success": True, "message": f"Model {pull.model} pulled successfully"}
    if pull.is_finished:
        return {"success": False, "message": f"Failed to pull {pull.model}: {pull.error}"}
    return {
        "success": False,
        "message": f"Still pulling {pull.model} ({pull.percent:g}%)",
        "progress_url": progress_url(pull),
    }


def progress_url(pull):
    return f"/api/v1/llm/pulls/{pull.pk}"


async def generation_stream(generation):
    """Newline-delimited JSON, like Ollama's stream: where the request waits, then its
    text as it is produced, then a last line with done=true (or the error shape)."""
    async with aclosing(follow.follow(generation)) as events:
        async for event in events:
            yield json.dumps(_stream_line(generation, event)) + "\n"


def _stream_line(generation, event):
    line = {"request_id": generation.request_id, "model": generation.model, "done": False}
    if event.kind == "queued":
        return dict(line, status="queued", queue_position=event.position, queue_length=event.length)
    if event.kind in ("text", "heartbeat"):
        return dict(line, response=event.text, **_present(thinking=event.thinking, tool_calls=list(event.tool_calls)))
    if generation.status == GenerationRequest.Status.DONE:
        counters = {name: getattr(generation, name) for name in generation.OLLAMA_COUNTERS}
        return dict(line, success=True, response="", done=True, done_reason=generation.done_reason, **counters)
    error, message = {
        GenerationRequest.Status.FAILED: ("Bad Gateway", f"Generation {generation.request_id} failed: {generation.error}"),
        GenerationRequest.Status.CANCELLED: ("Conflict", f"Request {generation.request_id} was cancelled"),
    }[generation.status]
    return dict(line, success=False, error=error, message=message, done=True)
