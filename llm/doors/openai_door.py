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
        return Response(self._envelope(generation, [self.choice(generation)], usage=_usage(generation)))

    def read(self, body):
        return openai_fields.chat_request(body)

    def choice(self, generation):
        message = {"role": "assistant", "content": generation.response}
        if generation.tool_calls:  # OpenAI's content is null when the model only called tools
            message.update(content=generation.response or None,
                           tool_calls=_tool_calls(generation, generation.tool_calls))
        return {"index": 0, "message": message, "finish_reason": _finish_reason(generation)}

    def delta(self, generation, event=None, sent_calls=0, first=False):
        """A chunk's choice: the text and tool calls of `event` (the calls numbered after the
        `sent_calls` already streamed), or with no event the last chunk, with its finish_reason."""
        delta = {"role": "assistant"} if first else {}
        if event is None:
            return {"index": 0, "delta": delta, "finish_reason": _finish_reason(generation)}
        if event.text:
            delta["content"] = event.text
        if event.tool_calls:
            delta["tool_calls"] = _tool_calls(generation, event.tool_calls, sent_calls, streamed=True)
        return {"index": 0, "delta": delta, "finish_reason": None}

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
        first, sent_calls = True, 0
        async with aclosing(follow.follow(generation)) as events:
            async for event in events:
                if event.kind in ("queued", "heartbeat"):
                    yield f": {event.kind}\n\n"
                    continue
                if event.kind == "text":
                    if event.text or event.tool_calls:  # thinking alone has no place in OpenAI's chunks
                        delta = self.delta(generation, event, sent_calls, first)
                        yield _sse(self._envelope(generation, [delta], chunk=True))
                        first, sent_calls = False, sent_calls + len(event.tool_calls)
                    continue
                if message := end_message(generation):
                    yield _sse(openai_error(502, message))
                    return
                yield _sse(self._envelope(generation, [self.delta(generation)], chunk=True))
                if include_usage:
                    yield _sse(self._envelope(generation, [], usage=_usage(generation), chunk=True))
        yield "data: [DONE]\n\n"


class Completions(ChatCompletions):
    kind = GenerationRequest.Kind.GENERATE
    id_prefix = "cmpl"
    object_name = chunk_object_name = "text_completion"

    def read(self, body):
        return openai_fields.completion_request(body)

    def choice(self, generation):
        return {"index": 0, "text": generation.response, "logprobs": None, "finish_reason": _finish_reason(generation)}

    def delta(self, generation, event=None, sent_calls=0, first=False):
        if event is None:
            return {"index": 0, "text": "", "logprobs": None, "finish_reason": _finish_reason(generation)}
        return {"index": 0, "text": event.text, "logprobs": None, "finish_reason": None}


def _entry(name):
    return resolve_model(name, "The model `{name}` does not exist")


def _model(name):
    return {"id": name, "object": "model", "created": 0, "owned_by": "llm-gateway"}


def _finish_reason(generation):
    if generation.tool_calls:
        return "tool_calls"
    return "length" if generation.done_reason == "length" else "stop"


def _tool_calls(generation, calls, start=0, streamed=False):
    """Ollama's tool calls as OpenAI's: each with an id (Ollama's, or made from the request's) and
    its arguments as a JSON string, where Ollama has an object; a streamed one has its `index`."""
    shaped = []
    for number, call in enumerate(calls, start):
        function = call.get("function") or {}
        arguments = function.get("arguments")
        shaped.append({
            **({"index": number} if streamed else {}),
            "id": call.get("id") or f"call_{generation.request_id.removeprefix('req_')}_{number}",
            "type": "function",
            "function": {
                "name": function.get("name") or "",
                "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments or {}),
            },
        })
    return shaped


def _usage(generation):
    prompt, completion = generation.prompt_eval_count or 0, generation.eval_count or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _sse(body):
    return f"data: {json.dumps(body)}\n\n"
