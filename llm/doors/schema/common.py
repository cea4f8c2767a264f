"""What the doors' descriptions share: the error texts, shapes every door reuses, and `describe()`."""

from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_view

from llm import catalog

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


WITH_BODY = (400, 413, 415)
ADMIN = (403,)

OBJECT = {"type": "object", "additionalProperties": True}
STRING_LIST = {"type": "array", "items": {"type": "string"}}
OPTIONS = {"$ref": "#/components/schemas/Options"}
TEXTS = {"type": "array", "items": {"type": "string"}, "maxItems": 2048}  # the texts of one embedding call


def error_responses(body, codes, unknown):
    """`body` for each of `codes` and the 401 and 429 every call can get; `unknown` describes a code ERRORS lacks."""
    return {code: OpenApiResponse(body, description=ERRORS.get(code, unknown)) for code in sorted({401, 429, *codes})}


def describe(view, **actions):
    """Annotate `view` ("llm.doors.views.X") for the schema without touching its code."""

    class Extension(OpenApiViewExtension):
        target_class = view

        def view_replacement(self):
            return extend_schema_view(**actions)(type(self.target.__name__, (self.target,), {}))

    return Extension


def model_name():
    return {"type": "string", "enum": catalog.names(), "description": "A model of the catalog."}


def nullable(properties):
    """Ollama reads a null field as an absent one."""
    return {name: {**schema, "nullable": True} for name, schema in properties.items()}


def json_body(schema):
    """A request body of this JSON schema (a bare dict would be read as media types)."""
    return {"application/json": schema}
