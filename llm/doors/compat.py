"""What the Ollama- and OpenAI-compatible front doors share.

Both put generations on the same queue as our own API, so a request through
any door waits behind the others and obeys the single-model rule.
"""

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from rest_framework import views
from rest_framework.exceptions import NotFound, ValidationError

from llm import catalog
from llm.queue import intake
from llm.doors.exceptions import door_error_response, invalid_field
from llm.doors.exceptions import handler as contract_handler
from llm.doors.parsers import AnyJSONParser
from llm.doors.serializers import OptionsSerializer, validated
from llm.doors.waiting import Pending, WaitingView, admit
from llm.models import GenerationRequest


class CompatView(WaitingView, views.APIView):
    """An API view whose errors are reshaped from the contract's into another API's format."""

    parser_classes = [AnyJSONParser]

    def get_exception_handler(self):
        def reshaped(exc, context):
            response = contract_handler(exc, context)
            if response is not None:
                response.data = self.error_body(response.status_code, response.data["message"], invalid_field(exc))
            return response

        return reshaped

    def error_body(self, status_code, message, param=None):
        raise NotImplementedError


@csrf_exempt  # else a POST to an unknown path gets Django's HTML 403 (no CSRF token), which clients print whole
def endpoint_not_found(request, path=""):
    """The last route of each compatible door: any method, any path it does not serve."""
    return door_error_response(
        request.path, 404, f"Endpoint not found: {request.method} {request.path}", code="unknown_url"
    )


def resolve_model(name, not_found):
    """The catalog entry for a model name a client sent (a catalog name or its Ollama tag).

    `not_found` is the door's own sentence for an unknown model, with {name} in it.
    """
    try:
        if not isinstance(name, str) or not name:
            raise catalog.UnknownModel(name or "")
        return catalog.resolve(name)
    except catalog.UnknownModel:
        raise NotFound(not_found.format(name=name)) from None


def validated_options(options, field="options"):
    """Ollama's options, checked as our API checks them; a 400 names `field` and the option."""
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise ValidationError({field: "Must be a JSON object."})
    try:
        return validated(OptionsSerializer, options)
    except ValidationError as exc:
        raise ValidationError({field: exc.detail}) from None


def submit(request, entry, source, **fields):
    """Store a generation that the client waits for or streams: (its place among the token's
    open waits, the generation)."""
    return admit(request.auth, lambda: intake.submit_generation(request.auth, entry.name, source=source, **fields))


WAITED_TOO_LONG = "Waited longer than LLM_COMPAT_WAIT_SECONDS"


def unstreamed(place, generation, answer):
    """Wait for the result, then `answer(generation)`: a client that cannot be told "queued"
    gets the result or an error (past LLM_COMPAT_WAIT_SECONDS the request is cancelled)."""

    def then(generation):
        if not generation.is_finished:
            generation.cancel(WAITED_TOO_LONG)
        return answer(generation)

    return Pending(generation, settings.LLM_COMPAT_WAIT_SECONDS, then, place)


def end_message(generation):
    """Why a generation did not finish, in a sentence, or None when it did."""
    if generation.status == GenerationRequest.Status.DONE:
        return None
    if generation.status == GenerationRequest.Status.FAILED:
        return generation.error
    return f"request {generation.request_id} was cancelled: {generation.error}"


def failed_status(generation, otherwise):
    """400 when Ollama refused the client's input (say, an image that is not base64, or an input
    longer than the context with truncate false), 504 when the request waited its turn longer than
    LLM_COMPAT_WAIT_SECONDS, else the door's status for a failed request."""
    if generation.bad_input:
        return 400
    if generation.status == GenerationRequest.Status.CANCELLED and generation.error == WAITED_TOO_LONG:
        return 504
    return otherwise
