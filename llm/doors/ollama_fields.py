"""The Ollama door's request fields: the type each must have (Ollama answers 400 to a wrong one, so do we).

Checked before anything is queued, so that a field of the wrong type is the
client's 400, not a generation that fails in Ollama later. Fields not listed
here pass through to Ollama untouched (or are ignored, as Ollama ignores them).
"""

from rest_framework.exceptions import ValidationError


def _string(value):
    return isinstance(value, str)


def _boolean(value):
    return isinstance(value, bool)


def _strings(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _integers(value):
    return isinstance(value, list) and all(isinstance(item, int) and not isinstance(item, bool) for item in value)


def _objects(value):
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _object(value):
    return isinstance(value, dict)


def _format(value):
    return value in ("", "json") or isinstance(value, dict)


def _think(value):
    return isinstance(value, bool) or value in ("high", "medium", "low")


def _keep_alive(value):
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


# field: (check, what it must be). null is always allowed: Ollama reads it as absent.
COMMON = {
    "model": (_string, "a string"),
    "stream": (_boolean, "true or false"),
    "format": (_format, '"json" or a JSON schema (an object)'),
    "keep_alive": (_keep_alive, 'a duration ("5m") or a number of seconds'),
    "think": (_think, "true, false, or high, medium, low"),
}
GENERATE = {
    **COMMON,
    "prompt": (_string, "a string"),
    "suffix": (_string, "a string"),
    "system": (_string, "a string"),
    "template": (_string, "a string"),
    "images": (_strings, "a list of base64 strings"),
    "raw": (_boolean, "true or false"),
    "context": (_integers, "a list of integers"),
}
CHAT = {**COMMON, "tools": (_objects, "a list of tools (objects)")}
# A tool: {"type": "function", "function": {"name": ..., "description": ..., "parameters": {JSON schema}}}.
TOOL = {"type": (_string, "a string"), "function": (_object, "an object with a name")}
FUNCTION = {
    "name": (_string, "a string"),
    "description": (_string, "a string"),
    "parameters": (_object, "a JSON schema (an object)"),
}
# A call the model made, as a message in the history: {"function": {"name": ..., "arguments": {...}}}.
TOOL_CALL = {"function": (_object, "an object with a name and arguments")}
CALLED = {"name": (_string, "a string"), "arguments": (_object, "an object (not a JSON string)")}
MESSAGE = {
    "role": (_string, "a string"),
    "content": (_string, "a string"),
    "images": (_strings, "a list of base64 strings"),
    "thinking": (_string, "a string"),
    "tool_calls": (_objects, "a list of objects"),
    "tool_name": (_string, "a string"),
}


MODEL_CALL = {"model": COMMON["model"], "name": COMMON["model"], "stream": COMMON["stream"]}


def check_model_call(body: dict) -> None:
    """show, pull, delete: a model's name, and whether to stream."""
    _check(body, MODEL_CALL)


def check_generate(body: dict) -> None:
    _check(body, GENERATE)


def check_chat(body: dict) -> None:
    _check(body, CHAT)
    for index, tool in enumerate(body.get("tools") or []):
        _check_function(tool, TOOL, FUNCTION, f"tools[{index}].")
    messages = body.get("messages")
    if messages is None:
        return
    if not isinstance(messages, list):
        _fail("messages", "a list of messages")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            _fail(where, "an object with a role and a content")
        if message.get("role") is None:
            _fail(f"{where}.role", "a string")
        _check(message, MESSAGE, prefix=f"{where}.")
        for number, call in enumerate(message.get("tool_calls") or []):
            _check_function(call, TOOL_CALL, CALLED, f"{where}.tool_calls[{number}].")


def _check_function(item, fields, function_fields, prefix):
    """A tool or a tool call: its fields, and its `function`, which must have a name."""
    _check(item, fields, prefix)
    function = item.get("function")
    if function is None or not isinstance(function.get("name"), str) or not function["name"]:
        _fail(f"{prefix}function.name", "a non-empty string")
    _check(function, function_fields, f"{prefix}function.")


def _check(body, fields, prefix=""):
    for name, (valid, expected) in fields.items():
        if body.get(name) is not None and not valid(body[name]):
            _fail(prefix + name, expected)


def _fail(name, expected):
    raise ValidationError({name: f"must be {expected}"})
