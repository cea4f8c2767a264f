"""The OpenAI door's request fields: which are honoured (and as what Ollama reads), which are refused.

A field is honoured, accepted because it asks for nothing we lack, or refused with a
400 whose `param` names it; none is dropped silently. README, "The OpenAI door's
fields", lists them. Views call `chat_request(body)` or `completion_request(body)`.
"""

import re
from dataclasses import dataclass, field

from rest_framework.exceptions import ValidationError

from llm.doors import parsers
from llm.doors.serializers import OptionsSerializer, validated

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
CHAT_FIELDS = {"model", "messages", "stream", "stream_options", "response_format", "tools", "tool_choice", *SAMPLING,
               *NO_EFFECT}
COMPLETION_FIELDS = {"model", "prompt", "suffix", "stream", "stream_options", *SAMPLING, "user"} - {"max_completion_tokens"}
# Ollama's chat roles; OpenAI's "developer" is what Ollama calls "system".
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}
# The fields each role's messages may have (beyond role and content); a field left null is absent.
# A tool message's `name` (LangChain sends the tool's) changes nothing: the call it answers names the tool.
MESSAGE_FIELDS = {"assistant": {"tool_calls"}, "tool": {"tool_call_id", "name"}}
FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


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
    request.extra = {
        **_response_format(body.get("response_format")),
        **_tools(body.get("tools"), body.get("tool_choice")),
    }
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
        try:
            options.update(validated(OptionsSerializer, {ollama: body[openai]}))
        except ValidationError as exc:
            errors = next(iter(exc.detail.values()))
            _fail(openai, errors[0] if isinstance(errors, list) else errors)
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


def _tools(tools, tool_choice):
    """OpenAI's function tools as Ollama's `tools`. Ollama lets the model choose whether to call one,
    so `tool_choice` may be "auto" (the default) or "none" (the model is not told of the tools);
    "required" or a named function would need a call forced, which Ollama cannot do: a 400."""
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        _fail("tools", "must be a list of function tools")
    ollama_tools = [_tool(index, tool) for index, tool in enumerate(tools)]
    if tool_choice in (None, "auto"):
        pass
    elif tool_choice == "none":
        ollama_tools = []
    elif tool_choice == "required" or isinstance(tool_choice, dict):
        _fail("tool_choice", 'is not supported as "required" or a named function: Ollama lets the model choose '
                             'whether to call a tool and cannot force a call (use "auto" or "none")')
    else:
        _fail("tool_choice", 'must be "none" or "auto"')
    return {"tools": ollama_tools} if ollama_tools else {}


def _tool(index, tool):
    """{"type": "function", "function": {"name", "description", "parameters"}}: the same shape in Ollama."""
    where = f"tools[{index}]"
    if not isinstance(tool, dict):
        _fail(where, "must be an object with a type and a function")
    if tool.get("type") != "function":
        _fail(f"{where}.type", 'must be "function" (the only kind of tool this server supports)')
    _only(tool, {"type", "function"}, where)
    function = tool.get("function")
    if not isinstance(function, dict):
        _fail(f"{where}.function", "must be an object with a name")
    _only(function, {"name", "description", "parameters", "strict"}, f"{where}.function")
    name = function.get("name")
    if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
        _fail(f"{where}.function.name", "must be 1 to 64 letters, digits, underscores or dashes")
    if function.get("strict") is not None and function["strict"] is not False:
        _fail(f"{where}.function.strict", "must be false: true is not supported, as Ollama does not hold the "
                                          "model's arguments to the schema")
    mapped = {"name": name}
    if function.get("description") is not None:
        if not isinstance(function["description"], str):
            _fail(f"{where}.function.description", "must be a string")
        mapped["description"] = function["description"]
    if function.get("parameters") is not None:
        if not isinstance(function["parameters"], dict):
            _fail(f"{where}.function.parameters", "must be a JSON schema (an object)")
        mapped["parameters"] = function["parameters"]
    return {"type": "function", "function": mapped}


def _messages(messages):
    if not isinstance(messages, list) or not messages:
        _fail("messages", "must be a non-empty list of messages")
    called = {}  # the id of each tool call in the history: its function's name
    return [_message(index, message, called) for index, message in enumerate(messages)]


def _message(index, message, called):
    where = f"messages[{index}]"
    if not isinstance(message, dict):
        _fail(where, "must be an object with a role and a content")
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        _fail(f"{where}.role", f"must be one of {', '.join(ROLES)}")
    tool_calls = message.get("tool_calls")
    if "content" not in message and tool_calls is None:
        _fail(f"{where}.content", "is required")
    _only(message, {"role", "content", *MESSAGE_FIELDS.get(role, ())}, where)
    mapped = {"role": ROLES[role], "content": _text(f"{where}.content", message.get("content"))}
    if tool_calls is not None:
        mapped["tool_calls"] = _tool_calls(where, tool_calls, called)
    if role == "tool":
        call_id = message.get("tool_call_id")
        if not isinstance(call_id, str) or call_id not in called:
            _fail(f"{where}.tool_call_id", "must be the id of a tool call in an earlier assistant message")
        mapped["tool_name"] = called[call_id]
        if message.get("name") is not None and not isinstance(message["name"], str):
            _fail(f"{where}.name", "must be a string")
    return mapped


def _tool_calls(where, tool_calls, called):
    """An assistant's calls, as Ollama's: the arguments an object, where OpenAI has them as a JSON string."""
    if not isinstance(tool_calls, list):
        _fail(f"{where}.tool_calls", "must be a list of tool calls")
    mapped = []
    for number, call in enumerate(tool_calls):
        at = f"{where}.tool_calls[{number}]"
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            _fail(at, 'must be an object with an id, a type "function" and a function')
        if not isinstance(call.get("id"), str) or not call["id"]:
            _fail(f"{at}.id", "must be a non-empty string")
        if call.get("type", "function") != "function":
            _fail(f"{at}.type", 'must be "function"')
        _only(call, {"id", "type", "function"}, at)
        function = call["function"]
        if not isinstance(function.get("name"), str) or not function["name"]:
            _fail(f"{at}.function.name", "must be a non-empty string")
        called[call["id"]] = function["name"]
        mapped.append({"function": {"name": function["name"], "arguments": _arguments(at, function.get("arguments"))}})
    return mapped


def _arguments(at, arguments):
    """A call's arguments, a JSON object in a string, read as every body is (llm/doors/parsers.py:
    no NaN, no NUL, not too deep), so that what is stored is what Ollama can read."""
    if arguments is None or arguments == "":
        return {}
    try:
        if not isinstance(arguments, str):
            raise parsers.MalformedBody("not a string")
        value = parsers.loads(arguments.encode("utf-8"))
        parsers.check_value(value)
    except parsers.MalformedBody as exc:
        _fail(f"{at}.function.arguments", f"must be a JSON object in a string ({exc.detail})")
    if not isinstance(value, dict):
        _fail(f"{at}.function.arguments", "must be a JSON object in a string")
    return value


def _only(body, allowed, where):
    """Refuse a field we cannot honour (one left null is absent)."""
    for name, value in body.items():
        if name not in allowed and value is not None:
            _fail(f"{where}.{name}", "is not supported by this server")


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
