"""An Ollama-compatible API under /ollama/ (shapes as in ollama/ollama docs/api.md).

Point an Ollama client at http://host/ollama with `Authorization: Bearer <token>`.
Generations and chats go through our queue; loading, unloading, pull and delete need an
admin token. Roles, limits and the audit log are the core's (llm/rules/).
"""

import asyncio
import json
from contextlib import aclosing

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from llm import catalog
from llm.engine import keepalive, nodes
from llm.queue import follow, offthread
from llm.doors import ollama_fields
from llm.doors.exceptions import ollama_error
from llm.doors.permissions import IsAdminToken
from llm.doors.compat import CompatView, end_message, failed_status, resolve_model, submit, unstreamed, validated_options
from llm.doors.waiting import PendingPulls, Stream
from llm.models import GenerationRequest, ModelPull
from llm.engine.ollama import ModelNotFound, client
from llm.rules import actions
from llm.rules.roles import Actor

GENERATE_FIELDS = ("suffix", "images", "format", "system", "template", "raw", "context", "think")
CHAT_FIELDS = ("tools", "format", "think")
PULL_POLL_SECONDS = 0.25
PULL_WAIT_SECONDS = 24 * 3600  # a pull that does not stream: Ollama answers once it is done


class OllamaView(CompatView):
    def error_body(self, status_code, message, param=None):
        return ollama_error(status_code, message)


def root(request):
    return HttpResponse("Ollama is running", content_type="text/plain; charset=utf-8")


class Version(OllamaView):
    def get(self, request):
        return Response({"version": client().version()})


class Tags(OllamaView):
    """Installed models the catalog offers, named as clients must ask for them."""

    def get(self, request):
        return Response({"models": _catalog_only(nodes.gather(lambda ollama: ollama.tags()))})


class Ps(OllamaView):
    def get(self, request):
        return Response({"models": _catalog_only(nodes.gather(lambda ollama: ollama.ps()))})


class Show(OllamaView):
    def post(self, request):
        ollama_fields.check_model_call(request.data)
        entry = _entry(request.data.get("model") or request.data.get("name"))
        return Response(client().show(entry.tag))


class Generate(OllamaView):
    kind = GenerationRequest.Kind.GENERATE
    fields = GENERATE_FIELDS

    def post(self, request):
        body = request.data
        self.check(body)
        options = validated_options(body.get("options"))
        entry = _entry(body.get("model"))
        if self._is_load_request(body):
            return Response(self._load_or_unload(entry, body))
        place, generation = submit(
            request,
            entry,
            GenerationRequest.Source.OLLAMA,
            kind=self.kind,
            options=options,
            extra={key: body[key] for key in self.fields if key in body},
            **self.content(body),
        )
        name = body["model"]
        if body.get("stream") is not False:  # absent or null: Ollama streams
            return Stream(_ndjson(generation, name, self.piece), place, "application/x-ndjson")
        return unstreamed(place, generation, lambda generation: self._answer(generation, name))

    def _answer(self, generation, name):
        if message := end_message(generation):
            return Response({"error": message}, status=failed_status(generation, 500))
        return Response(_final(generation, name, self.piece(generation.response, generation.thinking,
                                                            generation.tool_calls)))

    def check(self, body):
        ollama_fields.check_generate(body)

    def content(self, body):
        return {"prompt": body.get("prompt") or ""}

    def piece(self, text, thinking="", tool_calls=None):
        """A line's text as Ollama puts it; `thinking` only when the model thought (it asked with `think`)."""
        return {"response": text, **({"thinking": thinking} if thinking else {})}

    def _is_load_request(self, body):
        # Ollama: an empty prompt only loads the model, or unloads it with keep_alive 0.
        return not body.get("prompt") and not body.get("images")

    def _load_or_unload(self, entry, body):
        try:
            unload = keepalive.parse_keep_alive(body.get("keep_alive")) == 0
        except keepalive.BadRequest as exc:
            raise ValidationError(str(exc)) from None
        if unload:
            actions.unload(Actor.of(self.request), wait=settings.LLM_GENERATE_WAIT_SECONDS)
        else:
            actions.switch(Actor.of(self.request), entry.name, wait=settings.LLM_GENERATE_WAIT_SECONDS)
        reply = {"model": body["model"], "created_at": _now(), "done": True, "done_reason": "unload" if unload else "load"}
        return dict(reply, **self.piece(""))


class Chat(Generate):
    kind = GenerationRequest.Kind.CHAT
    fields = CHAT_FIELDS

    def check(self, body):
        ollama_fields.check_chat(body)

    def content(self, body):
        messages = body.get("messages") or []
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise ValidationError("messages must be a list of objects")
        return {"messages": messages}

    def piece(self, text, thinking="", tool_calls=None):
        message = {"role": "assistant", "content": text}
        if thinking:
            message["thinking"] = thinking
        if tool_calls:
            message["tool_calls"] = list(tool_calls)
        return {"message": message}

    def _is_load_request(self, body):
        return not body.get("messages")


class Pull(OllamaView):
    permission_classes = [IsAdminToken]

    def post(self, request):
        ollama_fields.check_model_call(request.data)
        entry = _entry(request.data.get("model") or request.data.get("name"))
        pulls = actions.pull(Actor.of(request), entry.name)  # one per node
        if request.data.get("stream") is not False:  # absent or null: Ollama streams
            # The first node's progress (one line shape, as Ollama's): the others pull beside it.
            return StreamingHttpResponse(_pull_lines(pulls[0]), content_type="application/x-ndjson")
        return PendingPulls(pulls, PULL_WAIT_SECONDS, _pull_outcome)


class Delete(OllamaView):
    permission_classes = [IsAdminToken]

    def delete(self, request):
        ollama_fields.check_model_call(request.data)
        entry = _entry(request.data.get("model") or request.data.get("name"))
        try:
            actions.delete(Actor.of(request), entry.name)
        except ModelNotFound as exc:  # Ollama's answer when there is nothing to delete
            raise NotFound(str(exc)) from None
        return HttpResponse(status=200)


# -- helpers ------------------------------------------------------------------


def _entry(name):
    return resolve_model(name, 'model "{name}" not found, try pulling it first')


def _now():
    return timezone.now().isoformat().replace("+00:00", "Z")


def _catalog_only(models):
    """Ollama's model list, keeping catalog models and naming them as the catalog does."""
    names = set(catalog.names())
    listed = []
    for model in models:
        name = catalog.name_for_tag(model.get("model") or model["name"])
        if name in names:
            listed.append(dict(model, name=name, model=name))
    return listed


def _final(generation, name, piece):
    counters = {key: getattr(generation, key) for key in generation.OLLAMA_COUNTERS if getattr(generation, key) is not None}
    return {"model": name, "created_at": _now(), **piece, "done": True, "done_reason": generation.done_reason, **counters}


async def _ndjson(generation, name, piece):
    """Ollama's stream. While queued or loading, empty chunks keep the connection
    honest (a client that left is noticed and its request cancelled)."""
    async with aclosing(follow.follow(generation)) as events:
        async for event in events:
            if event.kind == "end":
                message = end_message(generation)
                line = {"error": message} if message else _final(generation, name, piece(""))
            else:
                line = {"model": name, "created_at": _now(), **piece(event.text, event.thinking, event.tool_calls),
                        "done": False}
            yield json.dumps(line) + "\n"


def _pull_outcome(pulls):
    failed = [pull for pull in pulls if pull.status != ModelPull.Status.DONE]
    if failed:
        return Response({"error": failed[0].error or failed[0].status}, status=500)
    return Response({"status": "success"})


async def _pull_lines(pull):
    """Ollama's pull progress, read from the pull's row as the worker stores it: a coroutine,
    so a client following a download for minutes holds no thread."""
    yield json.dumps({"status": "pulling manifest"}) + "\n"
    while True:
        await offthread.run(pull.refresh_from_db)
        for digest, (completed, total) in pull.layers.items():
            yield json.dumps({"status": f"pulling {digest.removeprefix('sha256:')[:12]}", "digest": digest,
                              "total": total, "completed": completed}) + "\n"
        if pull.is_finished:
            break
        await asyncio.sleep(PULL_POLL_SECONDS)
    if pull.status == ModelPull.Status.DONE:
        for status in ("verifying sha256 digest", "writing manifest", "success"):
            yield json.dumps({"status": status}) + "\n"
    else:
        yield json.dumps({"error": pull.error or pull.status}) + "\n"

