"""The Ollama door (llm/doors/ollama_door.py, its embeddings in llm/doors/embeddings.py), after Ollama's docs/api.md."""

from drf_spectacular.utils import OpenApiResponse, extend_schema

from llm.doors.schema.common import (
    ADMIN,
    OBJECT,
    OPTIONS,
    STRING_LIST,
    TEXTS,
    WITH_BODY,
    describe,
    error_responses,
    json_body,
    model_name,
    nullable,
)

ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}


def _errors(*codes):
    return error_responses(ERROR, codes, unknown="Ollama's error.")


def _ollama_body(required, **properties):
    common = {
        "model": model_name(),
        "stream": {"type": "boolean", "description": "Default true: newline-delimited JSON."},
        "options": OPTIONS,
        "format": {"oneOf": [{"type": "string", "enum": ["", "json"]}, OBJECT]},
        "keep_alive": {"oneOf": [
            {"type": "string", "pattern": "^[-+]?(0|([0-9]+(ns|us|ms|s|m|h))+)$", "description": "A Go duration: 5m, 1h30m"},
            {"type": "number", "description": "Seconds; 0 unloads, negative keeps it forever"},
        ]},
    }
    properties = {"model": common.pop("model"), **nullable({**common, **properties})}
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": True}


_THINK = {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["high", "medium", "low"]}],
          "description": "The model thinks first; its thinking comes apart from the text."}
_FUNCTION = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}
_OLLAMA_TOOL = {"type": "object", "required": ["function"], "properties": {
    "type": {"type": "string", "nullable": True},
    "function": {**_FUNCTION, "properties": {**_FUNCTION["properties"],
                                             **nullable({"description": {"type": "string"}, "parameters": OBJECT})}},
}}
_OLLAMA_TOOL_CALL = {"type": "object", "required": ["function"], "properties": {
    "function": {**_FUNCTION, "properties": {**_FUNCTION["properties"], "arguments": {**OBJECT, "nullable": True}}},
}}
OLLAMA_GENERATE = _ollama_body(
    ["model"],
    think=_THINK,
    prompt={"type": "string"},
    suffix={"type": "string"},
    system={"type": "string"},
    template={"type": "string"},
    raw={"type": "boolean"},
    images=STRING_LIST,
    context={"type": "array", "items": {"type": "integer"}},
)
OLLAMA_CHAT = _ollama_body(
    ["model"],
    think=_THINK,
    tools={"type": "array", "items": _OLLAMA_TOOL},
    messages={"type": "array", "items": {
        "type": "object",
        "required": ["role"],
        "properties": {"role": {"type": "string", "description": "system, user, assistant or tool"},
                       "content": {"type": "string", "nullable": True},
                       "thinking": {"type": "string", "nullable": True},
                       "tool_calls": {"type": "array", "items": _OLLAMA_TOOL_CALL, "nullable": True},
                       "tool_name": {"type": "string", "nullable": True}},
    }},
)
OLLAMA_MODEL = {"type": "object", "required": ["model"], "properties": {"model": model_name()}}
OLLAMA_STREAMED = {"type": "object", "properties": {"done": {"type": "boolean"}}, "additionalProperties": True}


def _ollama_answers(answer):
    return {(200, "application/json"): answer, (200, "application/x-ndjson"): OLLAMA_STREAMED}


describe("llm.doors.ollama_door.Version", get=extend_schema(
    summary="Ollama's version", tags=["ollama"],
    responses={200: {"type": "object", "required": ["version"], "properties": {"version": {"type": "string"}}},
               **_errors(502, 503)},
))
_MODELS = {"type": "object", "required": ["models"], "properties": {"models": {"type": "array", "items": OBJECT}}}
describe("llm.doors.ollama_door.Tags", get=extend_schema(
    summary="Installed catalog models", tags=["ollama"], responses={200: _MODELS, **_errors(502, 503)},
))
describe("llm.doors.ollama_door.Ps", get=extend_schema(
    summary="The loaded model", tags=["ollama"], responses={200: _MODELS, **_errors(502, 503)},
))
describe("llm.doors.ollama_door.Show", post=extend_schema(
    summary="A model's details", tags=["ollama"], request=json_body(OLLAMA_MODEL),
    responses={200: OBJECT, **_errors(*WITH_BODY, 404, 409, 502, 503)},
))
describe("llm.doors.ollama_door.Generate", post=extend_schema(
    summary="Generate (Ollama's /api/generate), through the queue", tags=["ollama"], request=json_body(OLLAMA_GENERATE),
    responses={**_ollama_answers(OBJECT), **_errors(*WITH_BODY, 404, 409, 502, 503, 504)},
))
describe("llm.doors.ollama_door.Chat", post=extend_schema(
    summary="Chat (Ollama's /api/chat), through the queue", tags=["ollama"], request=json_body(OLLAMA_CHAT),
    responses={**_ollama_answers(OBJECT), **_errors(*WITH_BODY, 404, 409, 502, 503, 504)},
))
describe("llm.doors.ollama_door.Pull", post=extend_schema(
    summary="Download a model (admin)", tags=["ollama"],
    request=json_body({**OLLAMA_MODEL, "properties": {**OLLAMA_MODEL["properties"], "stream": {"type": "boolean", "nullable": True}}}),
    responses={**_ollama_answers(OBJECT), **_errors(*WITH_BODY, *ADMIN, 404)},
))
describe("llm.doors.ollama_door.Delete", delete=extend_schema(
    summary="Delete a model (admin)", tags=["ollama"], request=json_body(OLLAMA_MODEL),
    responses={200: OpenApiResponse(description="Deleted."), **_errors(*WITH_BODY, *ADMIN, 404, 502, 503)},
))


# -- Embeddings (llm/doors/embeddings.py) -------------------------------------------------------

OLLAMA_EMBED = _ollama_body(
    ["model"],
    input={"oneOf": [{"type": "string"}, TEXTS], "description": "A text or a list of texts; empty only loads the model."},
    truncate={"type": "boolean"},
    dimensions={"type": "integer", "minimum": 1},
)
OLLAMA_EMBEDDINGS = _ollama_body(["model"], prompt={"type": "string"})
for _body in (OLLAMA_EMBED, OLLAMA_EMBEDDINGS):  # an embed is never streamed and has no format
    del _body["properties"]["stream"], _body["properties"]["format"]

describe("llm.doors.embeddings.OllamaEmbed", post=extend_schema(
    summary="Embeddings (Ollama's /api/embed), through the queue", tags=["ollama"], request=json_body(OLLAMA_EMBED),
    responses={200: OBJECT, **_errors(*WITH_BODY, 404, 500, 503, 504)},
))
describe("llm.doors.embeddings.OllamaEmbeddings", post=extend_schema(
    summary="One embedding (Ollama's legacy /api/embeddings), through the queue", tags=["ollama"],
    request=json_body(OLLAMA_EMBEDDINGS), responses={200: OBJECT, **_errors(*WITH_BODY, 404, 500, 503, 504)},
))
