"""What the OpenAPI schema says about the API (drf-spectacular), kept beside the views, not in them.

The views answer with plain dicts built in `representations.py`; the serializers
here only describe those bodies, and `tests/security/test_fuzz.py` fuzzes
every operation with schemathesis to keep the two in step. The Ollama and OpenAI
doors are described at the end, in plain JSON schema, after those APIs' own documents. Each view is
described through an `OpenApiViewExtension`, drf-spectacular's way to annotate
a view without decorating it, so llm/doors/views.py stays validate-act-respond.
"""

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers

from llm import catalog
from llm.engine import nodes
from llm.doors import serializers as api
from llm.models import GenerationRequest, ModelPull

API_PREFIX = "/api/v1/llm/"
DOOR_PREFIXES = (API_PREFIX, "/ollama/", "/v1/")


def only_this_api(endpoints, **kwargs):
    """Preprocessing hook: the three doors (our API at the contract's paths, no trailing slash;
    the Ollama and OpenAI doors at their paths), not the admin or the dashboard."""
    return [
        (path.rstrip("/") if path.startswith(API_PREFIX) else path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if path.startswith(DOOR_PREFIXES)
    ]


def door_bodies_required(result, **kwargs):
    """Postprocessing hook: the compatible doors' calls with a body need one (`{}` at least)."""
    for path, operations in result["paths"].items():
        for operation in operations.values():
            if not path.startswith(API_PREFIX) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result


def retry_after_on_429(result, **kwargs):
    """Postprocessing hook: every 429 says how long to wait."""
    header = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}, "required": True}}
    for operations in result["paths"].values():
        for operation in operations.values():
            if "429" in operation.get("responses", {}):
                operation["responses"]["429"]["headers"] = header
    return result


# --- Bodies ---------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always false.")
    error = serializers.CharField(help_text="The HTTP reason phrase, e.g. Unauthorized.")
    message = serializers.CharField(help_text="What went wrong, in a sentence.")


class GenerationResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    request_id = serializers.CharField()
    response = serializers.CharField(allow_blank=True)
    model = serializers.CharField()
    done = serializers.BooleanField()
    queue_length = serializers.IntegerField(min_value=0)


class GenerationQueuedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField(help_text='"Request queued", or "Request running" once it started.')
    request_id = serializers.CharField()
    queue_position = serializers.IntegerField(min_value=0, help_text="1-based among waiting requests; 0: running.")
    queue_length = serializers.IntegerField(min_value=0)


class StreamLineSerializer(serializers.Serializer):
    """One line of the newline-delimited JSON stream (`"stream": true`)."""

    request_id = serializers.CharField()
    model = serializers.CharField()
    done = serializers.BooleanField()
    status = serializers.CharField(required=False)
    queue_position = serializers.IntegerField(required=False)
    queue_length = serializers.IntegerField(required=False)
    response = serializers.CharField(required=False, allow_blank=True)
    success = serializers.BooleanField(required=False)
    done_reason = serializers.CharField(required=False, allow_blank=True)
    error = serializers.CharField(required=False)
    message = serializers.CharField(required=False)


def _counter(help_text):
    return serializers.IntegerField(required=False, allow_null=True, help_text=help_text)


class RequestDetailSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    request_id = serializers.CharField()
    model = serializers.CharField()
    status = serializers.ChoiceField(choices=GenerationRequest.Status.values)
    done = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    queue_position = serializers.IntegerField(required=False, help_text="While queued.")
    queue_length = serializers.IntegerField(required=False, help_text="While queued.")
    response = serializers.CharField(required=False, allow_blank=True, help_text="Once done.")
    done_reason = serializers.CharField(required=False, allow_blank=True, help_text="Once done.")
    prompt_eval_count = _counter("Once done: prompt tokens.")
    eval_count = _counter("Once done: tokens generated.")
    total_duration = _counter("Once done: nanoseconds.")
    load_duration = _counter("Once done: nanoseconds.")
    prompt_eval_duration = _counter("Once done: nanoseconds.")
    eval_duration = _counter("Once done: nanoseconds.")
    error = serializers.CharField(required=False, help_text="Why it failed or was cancelled.")


class CancelledSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    request_id = serializers.CharField()
    status = serializers.ChoiceField(choices=GenerationRequest.Status.values)


class InstalledModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    modified_at = serializers.CharField(allow_null=True)


class NodeStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField(help_text="Without credentials.")
    in_service = serializers.BooleanField()
    reachable = serializers.BooleanField()
    current_model = serializers.CharField(allow_null=True)
    running_request = serializers.CharField(allow_null=True)
    installed = InstalledModelSerializer(many=True)
    error = serializers.CharField(required=False, help_text="Why it could not be asked.")


@extend_schema_serializer(many=False)  # a `list` action that answers one object
class StatusSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    ollama_running = serializers.BooleanField()
    current_model = serializers.CharField(allow_null=True)
    queue_length = serializers.IntegerField(min_value=0)
    is_processing = serializers.BooleanField()
    available_models = serializers.ListField(child=serializers.CharField())
    installed_models = InstalledModelSerializer(many=True)
    models_fit = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Catalog name: whether it fits in memory now (null: not installed).",
    )
    ollama_standin = serializers.CharField(allow_null=True, help_text='"echo" or "llama" under the stand-in.')
    ollama_error = serializers.CharField(required=False, help_text="Why Ollama could not be asked.")
    nodes = NodeStatusSerializer(many=True, help_text="The fleet (LLM_NODES), one entry a node; one box: one node.")


@extend_schema_serializer(many=False)  # a `list` action that answers one object
class ModelsSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    models = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="name: description")
    models_fit = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Catalog name: whether it fits in memory now (null: not installed; empty while Ollama is down).",
    )
    installed_on = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Catalog name: the nodes that have it."
    )


class PulledSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    model = serializers.CharField()
    progress_url = serializers.CharField(required=False, help_text="While it is still pulling (202).")


class PullOutcomeSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    progress_url = serializers.CharField(required=False)


class PulledAllSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    results = serializers.DictField(child=PullOutcomeSerializer())


class PullProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField()
    status = serializers.ChoiceField(choices=ModelPull.Status.values)
    detail = serializers.CharField(allow_blank=True)
    completed = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField()
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(many=False)  # a `list` action that answers one object
class PullListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    pulls = PullProgressSerializer(many=True)


class PullDetailSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    pull = PullProgressSerializer()


class SwitchedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    model = serializers.CharField()
    node = serializers.CharField(required=False, help_text="Where it loaded (in a fleet).")


class UnloadedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    unloaded = serializers.ListField(child=serializers.CharField())


class ProcessedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    processed = serializers.IntegerField(min_value=0)
    remaining = serializers.IntegerField(min_value=0)
    message = serializers.CharField(help_text="What happened, in a sentence (not in the seed contract: an addition).")


class ClearedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    cleared = serializers.IntegerField(min_value=0)


# --- Errors ---------------------------------------------------------------------

ERRORS = {
    400: "The body is not valid: the message names the field.",
    401: "No token, or a wrong, revoked or expired one.",
    403: "The token's role may not do this (it needs an admin token).",
    404: "No such thing, or not this token's.",
    409: "It conflicts with the service's state (the model is busy, the request already ended, ...).",
    413: "The body or the prompt is larger than allowed.",
    415: "The body is not JSON.",
    429: "Too many calls from this token: try again after Retry-After seconds.",
    502: "Ollama answered with an error.",
    503: "Ollama is not reachable, or the queue is full (then with Retry-After).",
    504: "The request waited its turn longer than LLM_COMPAT_WAIT_SECONDS (the compatible doors), and was cancelled.",
}


def errors(*codes):
    """Error responses in the contract's shape; every call can get 401 and 429."""
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERRORS[code])
        for code in sorted({401, 429, *codes})
    }


WITH_BODY = (400, 413, 415)
ADMIN = (403,)


def _describe(view, **actions):
    """Annotate `view` ("llm.doors.views.X") for the schema without touching its code."""

    class Extension(OpenApiViewExtension):
        target_class = view

        def view_replacement(self):
            return extend_schema_view(**actions)(type(self.target.__name__, (self.target,), {}))

    return Extension


_describe(
    "llm.doors.views.GenerateViewSet",
    create=extend_schema(
        summary="Generate text",
        description=(
            "200 with the answer when nothing is ahead (or `wait: true`), 202 with the queue position "
            "otherwise (or `wait: false`). With `stream: true`, newline-delimited JSON as the text comes."
        ),
        request=api.GenerateSerializer,
        responses={
            (200, "application/json"): GenerationResultSerializer,
            (200, "application/x-ndjson"): StreamLineSerializer,
            202: GenerationQueuedSerializer,
            **errors(*WITH_BODY, 409, 502, 503),
        },
    ),
)
_REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.STR, OpenApiParameter.PATH)
_describe(
    "llm.doors.views.RequestViewSet",
    retrieve=extend_schema(
        summary="One of this token's requests: where it stands, its result once done",
        parameters=[_REQUEST_ID],
        responses={200: RequestDetailSerializer, **errors(404)},
    ),
    destroy=extend_schema(
        summary="Cancel one of this token's requests",
        parameters=[_REQUEST_ID],
        responses={200: CancelledSerializer, **errors(404, 409)},
    ),
)
_describe(
    "llm.doors.views.StatusViewSet",
    list=extend_schema(summary="Ollama, the resident model, the queue", responses={200: StatusSerializer, **errors()}),
)
_describe(
    "llm.doors.views.ModelsViewSet",
    list=extend_schema(summary="The catalog, with descriptions", responses={200: ModelsSerializer, **errors()}),
)
_describe(
    "llm.doors.views.PullViewSet",
    create=extend_schema(
        summary="Download a model (admin)",
        request=api.ModelSerializer,
        responses={200: PulledSerializer, 202: PulledSerializer, **errors(*WITH_BODY, *ADMIN, 502)},
    ),
)
_describe(
    "llm.doors.views.PullAllViewSet",
    create=extend_schema(
        summary="Download every catalog model (admin)",
        request=None,
        responses={200: PulledAllSerializer, 202: PulledAllSerializer, **errors(*ADMIN)},
    ),
)
_describe(
    "llm.doors.views.PullProgressViewSet",
    list=extend_schema(summary="Recent pulls (admin)", responses={200: PullListSerializer, **errors(*ADMIN)}),
    retrieve=extend_schema(
        summary="One pull's progress (admin)",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: PullDetailSerializer, **errors(*ADMIN, 404)},
    ),
)
_describe(
    "llm.doors.views.SwitchViewSet",
    create=extend_schema(
        summary="Unload the resident model, load this one (admin)",
        request=api.ModelSerializer,
        responses={200: SwitchedSerializer, **errors(*WITH_BODY, *ADMIN, 409, 502, 503)},
    ),
)
_describe(
    "llm.doors.views.UnloadViewSet",
    create=extend_schema(
        summary="Free the model's memory now (admin)",
        request=api.NodeSerializer,
        responses={200: UnloadedSerializer, **errors(*WITH_BODY, *ADMIN, 409, 502, 503)},
    ),
)
_describe(
    "llm.doors.views.QueueViewSet",
    process=extend_schema(
        summary="Run up to max_iterations queued requests in this call (admin)",
        request=api.ProcessQueueSerializer,
        responses={200: ProcessedSerializer, **errors(*WITH_BODY, *ADMIN)},
    ),
    clear=extend_schema(
        summary="Cancel every waiting request (admin)",
        request=None,
        responses={200: ClearedSerializer, **errors(*ADMIN)},
    ),
)


# --- What drf-spectacular cannot guess -------------------------------------------


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "llm.doors.authentication.ApiKeyAuthentication"
    name = ["ApiKey", "Bearer"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKey": []}, {"Bearer": []}]  # either one

    def get_security_definition(self, auto_schema):
        return [{"type": "apiKey", "in": "header", "name": "X-API-Key"}, {"type": "http", "scheme": "bearer"}]


class CatalogModelFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "llm.doors.serializers.CatalogModelField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": catalog.names(), "description": "A model of the catalog (GET /models)."}


class NodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "llm.doors.serializers.NodeField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": nodes.names(),
                "description": "A node of the fleet (LLM_NODES); absent: the gateway chooses, or acts on every node."}


class StopFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "llm.doors.serializers.StopField"

    def map_serializer_field(self, auto_schema, direction):
        return {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


class OptionsSchema(OpenApiSerializerExtension):
    """Ollama's options: the listed ones are checked, any other passes through to Ollama."""

    target_class = "llm.doors.serializers.OptionsSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": True}


class GenerateSchema(OpenApiSerializerExtension):
    target_class = "llm.doors.serializers.GenerateSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        prompt = {**schema["properties"]["prompt"], "minLength": 1, "maxLength": settings.LLM_MAX_PROMPT_CHARS}
        return {**schema, "properties": {**schema["properties"], "prompt": prompt}}


# --- The Ollama and OpenAI doors ---------------------------------------------------

OBJECT = {"type": "object", "additionalProperties": True}
STRING_LIST = {"type": "array", "items": {"type": "string"}}
OPTIONS = {"$ref": "#/components/schemas/Options"}


def _model_name():
    return {"type": "string", "enum": catalog.names(), "description": "A model of the catalog."}


def _ollama_errors(*codes):
    error = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
    return {code: OpenApiResponse(error, description=ERRORS.get(code, "Ollama's error.")) for code in sorted({401, 429, *codes})}


def _openai_errors(*codes):
    error = {
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
    return {code: OpenApiResponse(error, description=ERRORS.get(code, "An error.")) for code in sorted({401, 429, *codes})}


def _nullable(properties):
    """Ollama reads a null field as an absent one."""
    return {name: {**schema, "nullable": True} for name, schema in properties.items()}


def _ollama_body(required, **properties):
    common = {
        "model": _model_name(),
        "stream": {"type": "boolean", "description": "Default true: newline-delimited JSON."},
        "options": OPTIONS,
        "format": {"oneOf": [{"type": "string", "enum": ["", "json"]}, OBJECT]},
        "keep_alive": {"oneOf": [
            {"type": "string", "pattern": "^[-+]?(0|([0-9]+(ns|us|ms|s|m|h))+)$", "description": "A Go duration: 5m, 1h30m"},
            {"type": "number", "description": "Seconds; 0 unloads, negative keeps it forever"},
        ]},
    }
    properties = {"model": common.pop("model"), **_nullable({**common, **properties})}
    return {"type": "object", "required": required, "properties": properties, "additionalProperties": True}


_THINK = {"oneOf": [{"type": "boolean"}, {"type": "string", "enum": ["high", "medium", "low"]}],
          "description": "The model thinks first; its thinking comes apart from the text."}
_FUNCTION = {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1}}}
_OLLAMA_TOOL = {"type": "object", "required": ["function"], "properties": {
    "type": {"type": "string", "nullable": True},
    "function": {**_FUNCTION, "properties": {**_FUNCTION["properties"],
                                             **_nullable({"description": {"type": "string"}, "parameters": OBJECT})}},
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
OLLAMA_MODEL = {"type": "object", "required": ["model"], "properties": {"model": _model_name()}}
OLLAMA_STREAMED = {"type": "object", "properties": {"done": {"type": "boolean"}}, "additionalProperties": True}


def _json(schema):
    """A request body of this JSON schema (a bare dict would be read as media types)."""
    return {"application/json": schema}


def _ollama_answers(answer):
    return {(200, "application/json"): answer, (200, "application/x-ndjson"): OLLAMA_STREAMED}


_describe("llm.doors.ollama_door.Version", get=extend_schema(
    summary="Ollama's version", tags=["ollama"],
    responses={200: {"type": "object", "required": ["version"], "properties": {"version": {"type": "string"}}},
               **_ollama_errors(502, 503)},
))
_MODELS = {"type": "object", "required": ["models"], "properties": {"models": {"type": "array", "items": OBJECT}}}
_describe("llm.doors.ollama_door.Tags", get=extend_schema(
    summary="Installed catalog models", tags=["ollama"], responses={200: _MODELS, **_ollama_errors(502, 503)},
))
_describe("llm.doors.ollama_door.Ps", get=extend_schema(
    summary="The loaded model", tags=["ollama"], responses={200: _MODELS, **_ollama_errors(502, 503)},
))
_describe("llm.doors.ollama_door.Show", post=extend_schema(
    summary="A model's details", tags=["ollama"], request=_json(OLLAMA_MODEL),
    responses={200: OBJECT, **_ollama_errors(*WITH_BODY, 404, 409, 502, 503)},
))
_describe("llm.doors.ollama_door.Generate", post=extend_schema(
    summary="Generate (Ollama's /api/generate), through the queue", tags=["ollama"], request=_json(OLLAMA_GENERATE),
    responses={**_ollama_answers(OBJECT), **_ollama_errors(*WITH_BODY, 404, 409, 502, 503, 504)},
))
_describe("llm.doors.ollama_door.Chat", post=extend_schema(
    summary="Chat (Ollama's /api/chat), through the queue", tags=["ollama"], request=_json(OLLAMA_CHAT),
    responses={**_ollama_answers(OBJECT), **_ollama_errors(*WITH_BODY, 404, 409, 502, 503, 504)},
))
_describe("llm.doors.ollama_door.Pull", post=extend_schema(
    summary="Download a model (admin)", tags=["ollama"],
    request=_json({**OLLAMA_MODEL, "properties": {**OLLAMA_MODEL["properties"], "stream": {"type": "boolean", "nullable": True}}}),
    responses={**_ollama_answers(OBJECT), **_ollama_errors(*WITH_BODY, *ADMIN, 404)},
))
_describe("llm.doors.ollama_door.Delete", delete=extend_schema(
    summary="Delete a model (admin)", tags=["ollama"], request=_json(OLLAMA_MODEL),
    responses={200: OpenApiResponse(description="Deleted."), **_ollama_errors(*WITH_BODY, *ADMIN, 404, 502, 503)},
))

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
        "model": _model_name(),
        "messages": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["role", "content"],
            "additionalProperties": False,
            "properties": {
                "role": {"type": "string", "enum": ["system", "developer", "user", "assistant"]},
                "content": {"nullable": True, "oneOf": [{"type": "string"}, {"type": "array", "items": _TEXT_PART}]},
            },
        }},
        **_nullable({"max_completion_tokens": _SAMPLING["max_tokens"], **_SAMPLING}),
        "tools": {"type": "array", "nullable": True, "items": {
            "type": "object", "required": ["type", "function"], "additionalProperties": False, "properties": {
                "type": {"type": "string", "enum": ["function"]},
                "function": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
                    "name": {"type": "string", "pattern": "^[a-zA-Z0-9_-]{1,64}$"},
                    **_nullable({"description": {"type": "string"}, "parameters": OBJECT}),
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
        "model": _model_name(),
        "prompt": {"type": "string", "minLength": 1},
        **_nullable({"suffix": {"type": "string"}, **_SAMPLING}),
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


_describe("llm.doors.openai_door.Models", get=extend_schema(
    summary="The catalog's models", tags=["openai"],
    responses={200: {"type": "object", "required": ["object", "data"],
                     "properties": {"object": {"type": "string"}, "data": {"type": "array", "items": OPENAI_MODEL}}},
               **_openai_errors()},
))
_describe("llm.doors.openai_door.Model", get=extend_schema(
    summary="One model of the catalog", tags=["openai"], operation_id="v1_model_retrieve",
    parameters=[OpenApiParameter("model_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
    responses={200: OPENAI_MODEL, **_openai_errors(400, 404)},
))
_describe("llm.doors.openai_door.ChatCompletions", post=extend_schema(
    summary="Chat completion, through the queue", tags=["openai"], request=_json(OPENAI_CHAT),
    responses={**_openai_answers(), **_openai_errors(*WITH_BODY, 404, 502, 503, 504)},
))
_describe("llm.doors.openai_door.Completions", post=extend_schema(
    summary="Text completion, through the queue", tags=["openai"], request=_json(OPENAI_COMPLETION),
    responses={**_openai_answers(), **_openai_errors(*WITH_BODY, 404, 502, 503, 504)},
))


# -- Embeddings, on both compatible doors (llm/doors/embeddings.py) ----------------------------

_TEXTS = {"type": "array", "items": {"type": "string"}, "maxItems": 2048}
OLLAMA_EMBED = _ollama_body(
    ["model"],
    input={"oneOf": [{"type": "string"}, _TEXTS], "description": "A text or a list of texts; empty only loads the model."},
    truncate={"type": "boolean"},
    dimensions={"type": "integer", "minimum": 1},
)
OLLAMA_EMBEDDINGS = _ollama_body(["model"], prompt={"type": "string"})
for _body in (OLLAMA_EMBED, OLLAMA_EMBEDDINGS):  # an embed is never streamed and has no format
    del _body["properties"]["stream"], _body["properties"]["format"]
OPENAI_EMBEDDINGS = {
    "type": "object",
    "required": ["model", "input"],
    "properties": {
        "model": _model_name(),
        "input": {"oneOf": [{"type": "string", "minLength": 1},
                            {**_TEXTS, "minItems": 1, "items": {"type": "string", "minLength": 1}}],
                  "description": "Token arrays are refused with a 400."},
        "encoding_format": {"type": "string", "enum": ["float", "base64", None], "nullable": True},
        "dimensions": {"type": "integer", "minimum": 1, "nullable": True},
    },
}

_describe("llm.doors.embeddings.OllamaEmbed", post=extend_schema(
    summary="Embeddings (Ollama's /api/embed), through the queue", tags=["ollama"], request=_json(OLLAMA_EMBED),
    responses={200: OBJECT, **_ollama_errors(*WITH_BODY, 404, 500, 503, 504)},
))
_describe("llm.doors.embeddings.OllamaEmbeddings", post=extend_schema(
    summary="One embedding (Ollama's legacy /api/embeddings), through the queue", tags=["ollama"],
    request=_json(OLLAMA_EMBEDDINGS), responses={200: OBJECT, **_ollama_errors(*WITH_BODY, 404, 500, 503, 504)},
))
_describe("llm.doors.embeddings.OpenAIEmbeddings", post=extend_schema(
    summary="Embeddings, through the queue", tags=["openai"], request=_json(OPENAI_EMBEDDINGS),
    responses={200: OBJECT, **_openai_errors(*WITH_BODY, 404, 502, 503, 504)},
))
