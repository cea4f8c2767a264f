"""The OpenAI door (llm/doors/openai_door.py, its embeddings in llm/doors/embeddings.py), after OpenAI's API reference."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from llm.doors import serializers as api
from llm.doors.schema.common import (
    OBJECT,
    STRING_LIST,
    TEXTS,
    WITH_BODY,
    describe,
    error_responses,
    json_body,
    model_name,
    nullable,
)

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["message", "type", "param", "code"],
        "properties": {
            "message": {"type": "string"},
            "type": {"type": "string"},
            "param": {"type": "string", "nullable": True},
            "code": {"type": "string", "nullable": True},
        },
    }},
}


def _errors(*codes):
    return error_responses(ERROR, codes, unknown="An error.")


_SAMPLING = {
    "max_tokens": {"type": "integer", "minimum": -2, "maximum": api.MAX_TOKENS, "description": "-1: no limit."},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1},
    "seed": {"type": "integer", "minimum": api.INT64[0], "maximum": api.INT64[1]},
    "stop": {"oneOf": [{"type": "string"}, STRING_LIST]},
    "frequency_penalty": {"type": "number", "minimum": -100, "maximum": 100},
    "presence_penalty": {"type": "number", "minimum": -100, "maximum": 100},
    "stream": {"type": "boolean"},
    "user": {"type": "string", "description": "Accepted, without effect."},
}
_TEXT_PART = {"type": "object", "required": ["type", "text"],
              "properties": {"type": {"type": "string", "enum": ["text"]}, "text": {"type": "string"}}}
OPENAI_CHAT = {
    "type": "object",
    "required": ["model", "messages"],
    "additionalProperties": False,
    "description": "Fields not listed are refused with a 400 naming them (README, \"The OpenAI door's fields\").",
    "properties": {
        "model": model_name(),
        "messages": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["role", "content"],
            "additionalProperties": False,
            "properties": {
                "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
                "content": {"nullable": True, "oneOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]},
            },
        }},
        **nullable({"max_completion_tokens": _SAMPLING["max_tokens"], **_SAMPLING}),
        "tools": {"type": "array", "nullable": True, "items": {
            "type": "object", "required": ["type", "function"], "additionalProperties": False, "properties": {
                "type": {"type": "string", "enum": ["function"]},
                "function": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                    "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                    **nullable({"description": {"type": "string"}, "parameters": OBJECT}),
                    "strict": {"type": "boolean", "enum": [False, None], "nullable": True,
                               "description": "true is refused: Ollama does not hold arguments to the schema."},
                }},
            },
        }},
        "tool_choice": {"type": "string", "enum": ["none", "auto", None], "nullable": True,
                        "description": '"required" and a named function are refused: Ollama cannot force a call. '
                                       "Assistant tool_calls and tool messages: README, \"Thinking and tools\"."},
        "response_format": {"nullable": True, "oneOf": [
            {"type": "object", "required": ["type"], "properties": {"type": {"type": "string", "enum": ["text", "json_object"]}}},
            {"type": "object", "required": ["type", "json_schema"], "properties": {
                "type": {"type": "string", "enum": ["json_schema"]},
                "json_schema": {"type": "object", "required": ["schema"], "properties": {"schema": OBJECT}},
            }},
        ]},
    },
}
OPENAI_COMPLETION = {
    "type": "object",
    "required": ["model", "prompt"],
    "additionalProperties": False,
    "description": OPENAI_CHAT["description"],
    "properties": {
        "model": model_name(),
        "prompt": {"type": "string", "minLength": 1},
        **nullable({"suffix": {"type": "string"}, **_SAMPLING}),
    },
}
OPENAI_MODEL = {
    "type": "object",
    "required": ["id", "object", "created", "owned_by"],
    "properties": {"id": {"type": "string"}, "object": {"type": "string", "enum": ["model"]},
                   "created": {"type": "integer"}, "owned_by": {"type": "string"}},
}
OPENAI_COMPLETED = {
    "type": "object",
    "required": ["id", "object", "created", "model", "choices"],
    "properties": {"id": {"type": "string"}, "object": {"type": "string"}, "created": {"type": "integer"},
                   "model": {"type": "string"}, "choices": {"type": "array", "items": OBJECT}, "usage": OBJECT},
}


def _openai_answers():
    events = {"description": "Server-sent events: chunks as JSON, then data: [DONE]."}  # any data
    return {(200, "application/json"): OPENAI_COMPLETED, (200, "text/event-stream"): events}


describe("llm.doors.openai_door.Models", get=extend_schema(
    summary="The catalog's models", tags=["openai"],
    responses={200: {"type": "object", "required": ["object", "data"],
                     "properties": {"object": {"type": "string"}, "data": {"type": "array", "items": OPENAI_MODEL}}},
               **_errors()},
))
describe("llm.doors.openai_door.Model", get=extend_schema(
    summary="One model of the catalog", tags=["openai"], operation_id="v1_model_retrieve",
    parameters=[OpenApiParameter("model_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: OPENAI_MODEL, **_errors(400, 404)},
))
describe("llm.doors.openai_door.ChatCompletions", post=extend_schema(
    summary="Chat completion, through the queue", tags=["openai"], request=json_body(OPENAI_CHAT),
    responses={**_openai_answers(), **_errors(*WITH_BODY, 404, 502, 503, 504)},
))
describe("llm.doors.openai_door.Completions", post=extend_schema(
    summary="Text completion, through the queue", tags=["openai"], request=json_body(OPENAI_COMPLETION),
    responses={**_openai_answers(), **_errors(*WITH_BODY, 404, 502, 503, 504)},
))


# -- Embeddings (llm/doors/embeddings.py) -------------------------------------------------------

OPENAI_EMBEDDINGS = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": model_name(),
        "input": {"oneOf": [{"type": "string", "minLength": 1},
                            {**TEXTS, "minItems": 1, "items": {"type": "string", "minLength": 1}}],
                  "description": "Token arrays are refused with a 400."},
        "encoding_format": {"type": "string", "enum": ["float", "base64", None], "nullable": True},
        "dimensions": {"type": "integer", "minimum": 1, "nullable": True},
    },
}


describe("llm.doors.embeddings.OpenAIEmbeddings", post=extend_schema(
    summary="Embeddings, through the queue", tags=["openai"], request=json_body(OPENAI_EMBEDDINGS),
    responses={200: OBJECT, **_errors(*WITH_BODY, 404, 502, 503, 504)},
))
