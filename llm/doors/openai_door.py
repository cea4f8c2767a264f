"""An OpenAI-compatible API under /v1/: chat completions, completions, models.

Point an OpenAI client at http://host/v1 with the token as its API key. Requests
go through our queue like any other; errors come in OpenAI's format. Which request
fields are honoured and which refused: llm/doors/openai_fields.py.
"""

import json
from contextlib import aclosing

from rest_framework.response import Response

from llm import catalog
from llm.queue import follow
from llm.doors import openai_fields
from llm.doors.compat import CompatView, end_message, failed_status, resolve_model, submit, unstreamed
from llm.doors.exceptions import openai_error
from llm.doors.waiting import Stream
from llm.models import GenerationRequest


class OpenAIView(CompatView):
    def error_body(self, status_code, message, param=None):
        return openai_error(status_code, message, param=param)


class Models(OpenAIView):
    def get(self, request):
        return Response({"object": "list", "data": [_model(name) for name in catalog.names()]})


class Model(OpenAIView):
    def get(self, request, model_id):
        return Response(_model(_entry(model_id).name))


class ChatCompletions(OpenAIView):
    kind = GenerationRequest.Kind.CHAT
    id_prefix = "chatcmpl"
    object_name = "chat.completion"
    chunk_object_name = "chat.completion.chunk"

    def post(self, request):
        fields = self.read(request.data)
        entry = _entry(fields.model)
        place, generation = submit(request, entry, GenerationRequest.Source.OPENAI, kind=self.kind,
                                   options=fields.options, extra=fields.extra, **fields.content)
        if fields.stream:
            return Stream(self._events(generation, fields.include_usage), place, "text/event-stream")
        return unstreamed(place, generation, self._answer)

    def _answer(self, generation):
        if message := end_message(generation):
            status = failed_status(generation, 502)
            return Response(openai_error(status, message), status=status)
        return Response(self._envelope(generation, [self.choice(generation.response, _finish_reason(generation))],
                                       usage=_usage(generation)))

    def read(self, body):
        return openai_fields.chat_request(body)

    def choice(self, text, finish_reason):
        return {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}

    def delta(self, text, finish_reason=None, first=False):
        delta = {"role": "assistant"} if first else {}
        if text:
            delta["content"] = text
        return {"index": 0, "delta": delta, "finish_reason": finish_reason}

    def _envelope(self, generation, choices, usage=None, chunk=False):
        body = {
            "id": f"{self.id_prefix}-{generation.request_id}",
            "object": self.chunk_object_name if chunk else self.object_name,
            "created": int(generation.created_at.timestamp()),
            "model": generation.model,
            "choices": choices,
        }
        if usage is not None:
            body["usage"] = usage
        return body

    async def _events(self, generation, include_usage):
        """Server-sent events; comments keep the connection alive while queued."""
        first = True
        async with aclosing(follow.follow(generation)) as events:
            async for event in events:
                if event.kind in ("queued", "heartbeat"):
                    yield f": {event.kind}\n\n"
                    continue
                if event.kind == "text":
                    yield _sse(self._envelope(generation, [self.delta(event.text, first=first)], chunk=True))
                    first = False
                    continue
                if message := end_message(generation):
                    yield _sse(openai_error(502, message))
                    return
                yield _sse(self._envelope(generation, [self.delta("", _finish_reason(generation))], chunk=True))
                if include_usage:
                    yield _sse(self._envelope(generation, [], usage=_usage(generation), chunk=True))
        yield "data: [DONE]\n\n"


class Completions(ChatCompletions):
    kind = GenerationRequest.Kind.GENERATE
    id_prefix = "cmpl"
    object_name = chunk_object_name = "text_completion"

    def read(self, body):
        return openai_fields.completion_request(body)

    def choice(self, text, finish_reason):
        return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}

    def delta(self, text, finish_reason=None, first=False):
        return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}


def _entry(name):
    return resolve_model(name, "The model `{name}` does not exist")


def _model(name):
    return {"id": name, "object": "model", "created": 0, "owned_by": "llm-gateway"}


def _finish_reason(generation):
    return "length" if generation.done_reason == "length" else "stop"


def _usage(generation):
    prompt, completion = generation.prompt_eval_count or 0, generation.eval_count or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(body):
    return f"data: {json.dumps(body)}\n\n"
