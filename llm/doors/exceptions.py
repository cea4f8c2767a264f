"""API errors, rendered in the shape of the door they came through.

Our API (the contract):  {"success": false, "error": "<HTTP reason phrase>", "message": "<a sentence>"}
The Ollama door:         {"error": "<a sentence>"}
The OpenAI door:         {"error": {"message": "<a sentence>", "type", "param", "code"}}

DRF views raise exceptions rendered by `handler` (the compatible doors reshape its
answer); plain Django views and middleware use `door_error_response`.
"""

import logging
from http import HTTPStatus

from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from llm import catalog
from llm.engine.ollama import ModelNotFound, OllamaError, OllamaResponseError, OllamaUnavailable
from llm.engine.fit import DoesNotFit
from llm.engine.residency import EngineBusy
from llm.rules.limits import QueueFull, RateLimited, TextTooLong, TooManyOpenWaits
from llm.rules.roles import NotAllowed

log = logging.getLogger(__name__)

UNAUTHORIZED_MESSAGE = "Invalid or missing Bearer token"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the state of the service."
    default_code = "conflict"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is larger than this service accepts."
    default_code = "payload_too_large"


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_detail = "Ollama answered with an error."
    default_code = "bad_gateway"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "Ollama is not reachable."
    default_code = "service_unavailable"


# The contract's reason phrases where Python's differ (and change between versions:
# 413 is "Request Entity Too Large" in 3.11, "Content Too Large" in 3.13).
PHRASES = {413: "Payload Too Large"}


def error_body(status_code, message):
    return {"success": False, "error": PHRASES.get(status_code) or HTTPStatus(status_code).phrase, "message": message}


def ollama_error(status_code, message, **details):
    return {"error": message}


OPENAI_ERROR_TYPES = {
    401: "invalid_request_error", 403: "permission_error", 404: "invalid_request_error", 429: "rate_limit_error",
}
OPENAI_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found"}


def openai_error(status_code, message, param=None, code=None):
    """OpenAI's error shape; `param` names the request field at fault."""
    kind = OPENAI_ERROR_TYPES.get(status_code, "server_error" if status_code >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code or OPENAI_ERROR_CODES.get(status_code)}}


def _contract_error(status_code, message, **details):
    return error_body(status_code, message)


# URL prefix: the error shape of the door under it.
DOORS = {"/api/": _contract_error, "/ollama/": ollama_error, "/v1/": openai_error}


def is_door_path(path):
    return path.startswith(tuple(DOORS))


def door_error_response(path, status_code, message, **details):
    """An error for a request to `path`, in the shape of its door (the contract's elsewhere)."""
    shape = next((shape for prefix, shape in DOORS.items() if path.startswith(prefix)), _contract_error)
    return JsonResponse(shape(status_code, message, **details), status=status_code)


def invalid_field(exc):
    """The request field a validation error is about ("options.temperature"), or None."""
    names, detail = [], getattr(exc, "detail", None)
    while isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict) and detail:
        name, detail = next(iter(detail.items()))
        if name == "non_field_errors":
            break
        names.append(str(name))
    return ".".join(names) or None


def handler(exc, context):
    """DRF's exception handler: every error, expected or not, in the contract's shape."""
    exc = _translate(exc)
    if not isinstance(exc, exceptions.APIException):
        log.exception("Unhandled error in %s", context.get("view").__class__.__name__, exc_info=exc)
        return Response(error_body(500, "Internal server error"), status=500)
    headers = {}
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        exc.status_code = status.HTTP_401_UNAUTHORIZED
        message = UNAUTHORIZED_MESSAGE
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    else:
        message = _message(exc.detail)
    if getattr(exc, "wait", None) or isinstance(exc, exceptions.Throttled):
        headers["Retry-After"] = str(int(exc.wait or 0) + 1)
    return Response(error_body(exc.status_code, message), status=exc.status_code, headers=headers)


def _translate(exc):
    """Errors from the modules below the views, as API errors."""
    if isinstance(exc, NotAllowed):
        return exceptions.PermissionDenied(str(exc))
    if isinstance(exc, TextTooLong):
        return PayloadTooLarge(str(exc))
    if isinstance(exc, RateLimited):
        return exceptions.Throttled(exc.wait)
    if isinstance(exc, TooManyOpenWaits):
        throttled = exceptions.Throttled(detail=str(exc))
        throttled.wait = exc.retry_after
        return throttled
    if isinstance(exc, catalog.UnknownModel):
        return exceptions.ValidationError(f"Unknown model: {exc}. Available: {', '.join(catalog.names())}")
    if isinstance(exc, ModelNotFound):
        return Conflict(f"{exc}")
    if isinstance(exc, (EngineBusy, DoesNotFit)):
        return Conflict(str(exc))
    if isinstance(exc, OllamaUnavailable):
        return ServiceUnavailable(str(exc))
    if isinstance(exc, QueueFull):
        unavailable = ServiceUnavailable(str(exc))
        unavailable.wait = exc.retry_after
        return unavailable
    if isinstance(exc, (OllamaResponseError, OllamaError)):
        return BadGateway(f"Ollama error: {exc}")
    if type(exc) is exceptions.ParseError:  # DRF's own, which quotes the decoder; ours say what is wrong
        return exceptions.ParseError("Malformed JSON in request body")
    return exc


def _message(detail):
    """One readable sentence from DRF's nested error details."""
    if isinstance(detail, dict):
        field, inner = next(iter(detail.items()))
        text = _message(inner)
        return text if field == "non_field_errors" else f"{field}: {text}"
    if isinstance(detail, list):
        return _message(detail[0]) if detail else ""
    return str(detail)
