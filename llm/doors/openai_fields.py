"""The OpenAI door's request fields: which are honoured (and as what Ollama reads), which are refused.

A field is honoured, accepted because it asks for nothing we lack, or refused with a
400 whose `param` names it; none is dropped silently. README, "The OpenAI door's
fields", lists them. Views call `chat_request(body)` or `completion_request(body)`.
"""

from dataclasses import dataclass, field

from rest_framework.exceptions import ValidationError

from llm.doors.serializers import OptionsSerializer

# OpenAI's sampling fields that have an Ollama option of the same meaning.
SAMPLING = {
    "max_tokens": "num_predict",
    "max_completion_tokens": "num_predict",
    "temperature": "temperature",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop",
    "frequency_penalty": "frequency_penalty",
    "presence_penalty": "presence_penalty",
}
# Accepted and without effect: they change nothing in the answer (but must have their type).
NO_EFFECT = {"user": str, "store": bool, "metadata": dict, "parallel_tool_calls": bool, "service_tier": str}
# Refused unless they hold a value that asks for nothing (what clients send by default).
NEUTRAL = {
    "n": (None, 1),
    "tools": (None, []),
    "tool_choice": (None, "none", "auto"),
    "functions": (None, []),
    "function_call": (None, "none", "auto"),
    "logprobs": (None, False, 0),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "modalities": (None, ["text"]),
    "echo": (None, False),
    "best_of": (None, 1),
}
CHAT_FIELDS = {"model", "messages", "stream", "stream_options", "response_format", *SAMPLING, *NO_EFFECT}
COMPLETION_FIELDS = {"model", "prompt", "suffix", "stream", "stream_options", *SAMPLING, "user"} - {"max_completion_tokens"}
# Ollama's chat roles; OpenAI's "developer" is what Ollama calls "system".
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


@dataclass
class OpenAIRequest:
    model: str
    stream: bool
    include_usage: bool
    options: dict
    extra: dict = field(default_factory=dict)
    content: dict = field(default_factory=dict)  # {"messages": [...]} or {"prompt": "..."}


def chat_request(body: dict) -> OpenAIRequest:
    _refuse_unknown(body, CHAT_FIELDS)
    request = _common(body)
    request.extra = _response_format(body.get("response_format"))
    request.content = {"messages": _messages(body.get("messages"))}
    return request


def completion_request(body: dict) -> OpenAIRequest:
    _refuse_unknown(body, COMPLETION_FIELDS)
    request = _common(body)
    if body.get("suffix") is not None:
        request.extra["suffix"] = _string(body, "suffix")
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1:
        prompt = prompt[0]
    if not isinstance(prompt, str) or not prompt:
        _fail("prompt", "must be a non-empty string (or a list of one)")
    request.content = {"prompt": prompt}
    return request


# --- helpers ------------------------------------------------------------------


def _fail(param, message):
    raise ValidationError({param: message})


def _refuse_unknown(body, known):
    for name, value in body.items():
        if name in NO_EFFECT and value is not None and not isinstance(value, NO_EFFECT[name]):
            _fail(name, f"must be of type {NO_EFFECT[name].__name__}")
        if name in known:
            continue
        if name in NEUTRAL:
            if not any(value == neutral and type(value) is type(neutral) for neutral in NEUTRAL[name]):
                _fail(name, f"is not supported by this server (only {_neutral(name)})")
            continue
        _fail(name, "is not a field this server supports")


def _neutral(name):
    return " or ".join("null" if value is None else repr(value) for value in NEUTRAL[name])


def _common(body):
    model = body.get("model")
    if not isinstance(model, str) or not model:
        _fail("model", "must be a model's name (GET /v1/models)")
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        _fail("stream", "must be true or false")
    stream_options = body.get("stream_options")
    if stream_options is not None and not stream:
        _fail("stream_options", "is only allowed with stream: true")
    if stream_options is not None and not isinstance(stream_options, dict):
        _fail("stream_options", "must be an object")
    include_usage = (stream_options or {}).get("include_usage", False)
    if not isinstance(include_usage, bool):
        _fail("stream_options.include_usage", "must be true or false")
    return OpenAIRequest(model=model, stream=bool(stream), include_usage=include_usage, options=_options(body))


def _options(body):
    """Ollama's options from OpenAI's sampling fields, checked as our API checks them."""
    options = {}
    for openai, ollama in SAMPLING.items():  # one at a time: two fields map to num_predict
        if body.get(openai) is None:
            continue
        serializer = OptionsSerializer(data={ollama: body[openai]})
        if not serializer.is_valid():
            errors = next(iter(serializer.errors.values()))
            _fail(openai, errors[0] if isinstance(errors, list) else errors)
        options.update(serializer.validated_data)
    return options


def _response_format(response_format):
    """OpenAI's response_format as Ollama's `format`: "json", or a JSON schema."""
    if response_format is None:
        return {}
    if not isinstance(response_format, dict):
        _fail("response_format", "must be an object with a type")
    kind = response_format.get("type")
    if kind == "text":
        return {}
    if kind == "json_object":
        return {"format": "json"}
    if kind == "json_schema":
        json_schema = response_format.get("json_schema")
        if not isinstance(json_schema, dict):
            _fail("response_format.json_schema", "must be an object with a schema")
        schema = json_schema.get("schema")
        if not isinstance(schema, dict):
            _fail("response_format.json_schema.schema", "must be a JSON schema (an object)")
        return {"format": schema}
    _fail("response_format.type", "must be text, json_object or json_schema")


def _messages(messages):
    if not isinstance(messages, list) or not messages:
        _fail("messages", "must be a non-empty list of messages")
    return [_message(index, message) for index, message in enumerate(messages)]


def _message(index, message):
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        _fail(where, "must be an object with a role and a content")
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        _fail(f"{where}.role", f"must be one of {', '.join(ROLES)} (tool messages are not supported)")
    if "content" not in message:
        _fail(f"{where}.content", "is required")
    for name in message:
        if name not in ("role", "content") and message[name] is not None:
            _fail(f"{where}.{name}", "is not supported by this server")
    return {"role": ROLES[role], "content": _text(f"{where}.content", message.get("content"))}


def _text(where, content):
    """A message's text: a string, or a list of text parts (other parts are refused)."""
    if isinstance(content, str):
        return content
    if content is None:
        return ""
    if not isinstance(content, list):
        _fail(where, "must be a string or a list of text parts")
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
            _fail(where, 'only text parts ({"type": "text", "text": "..."}) are supported')
        texts.append(part["text"])
    return "".join(texts)


def _string(body, name):
    if not isinstance(body[name], str):
        _fail(name, "must be a string")
    return body[name]
