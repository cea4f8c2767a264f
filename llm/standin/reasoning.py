"""What the stand-in thinks (Ollama's ``think``) and which tool it calls (a chat's ``tools``).

Both are deterministic and the same for either backend (SmolLM2 neither thinks nor calls tools:
in llama mode the answer text is the model's, the thinking and the calls are these):

- Thinking: with ``think`` true (or "high", "medium", "low"), the reply first streams
  ``The question is: <the words of the last user message>`` as thinking, word by word, then its
  answer. Without it, no thinking (a real Ollama may think unasked for some models; the stand-in
  never does). Thinking tokens count in ``eval_count`` and against ``num_predict``, as in Ollama.
- Tool calls: a chat with ``tools`` whose last message is the user's and names one of the tools
  (its function's name as a word, e.g. "please call get_weather Paris") answers with a call to
  the first tool named, instead of text: ``message.tool_calls`` =
  ``[{"function": {"name": ..., "arguments": {...}}}]`` (arguments an object), content "",
  done_reason "stop"; it counts as one token. Each property of the tool's ``parameters`` gets a
  value from the words that follow the tool's name: a string gets those words joined (or, with an
  ``enum``, its first value), an integer or a number the first number among them (else 0), a
  boolean true, an array the words, an object ``{}``. A chat whose last message is a tool's
  result (role "tool") is answered with text, echoing that result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

THINKING_LEAD = "The question is:"
_PUNCTUATION = ".,;:!?\"'()[]{}"


def wants_thinking(req: dict) -> bool:
    return req.get("think") is True or req.get("think") in ("high", "medium", "low")


def thinking_tokens(text: str) -> Iterator[str]:
    first, *rest = THINKING_LEAD.split()
    yield first
    for word in [*rest, *text.split()]:
        yield " " + word


def tool_call(tools, messages) -> dict | None:
    """The call the last user message asks for, or None (no tools, or it names none of them)."""
    if not isinstance(tools, list) or not messages or not isinstance(messages[-1], dict):
        return None
    last = messages[-1]
    if last.get("role", "user") != "user" or not isinstance(last.get("content"), str):
        return None
    words = [word.strip(_PUNCTUATION) for word in last["content"].split()]
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if isinstance(name, str) and name in words:
            rest = [word for word in words[words.index(name) + 1:] if word]
            return {"function": {"name": name, "arguments": _arguments(function.get("parameters"), rest)}}
    return None


def _arguments(parameters, words: list[str]) -> dict:
    properties = parameters.get("properties") if isinstance(parameters, dict) else None
    if not isinstance(properties, dict):
        return {}
    return {name: _value(schema if isinstance(schema, dict) else {}, words) for name, schema in properties.items()}


def _value(schema: dict, words: list[str]):
    kind = schema.get("type")
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    if kind in ("integer", "number"):
        numbers = [word for word in words if re.fullmatch(r"-?\d+(\.\d+)?", word)]
        if not numbers:
            return 0
        return int(float(numbers[0])) if kind == "integer" else float(numbers[0])
    if kind == "boolean":
        return True
    if kind == "array":
        return list(words)
    if kind == "object":
        return {}
    return " ".join(words)
