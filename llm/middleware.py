"""Requests refused before any view sees them, in the door's error shape on its paths.

BodySizeLimitMiddleware: a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE. Django
checks that setting only for form posts; DRF reads a JSON body straight from the
stream, past it. This looks at Content-Length first, for every view (our API and
the compatible front doors alike): 413. A body without Content-Length (chunked) is
not read by Django's WSGI request at all.

NulInUrlMiddleware: a NUL character in the path or the query string. No id or name
of ours holds one, and PostgreSQL cannot even compare one: 400.
"""

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse

from llm.doors.exceptions import door_error_response
from llm.views import _is_api


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _content_length(request) > limit:
            message = f"The request body is larger than the {limit} bytes allowed"
            return _refuse(request, 413, message)
        return self.get_response(request)


class NulInUrlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            query = request.GET.lists()
        except SuspiciousOperation as exc:  # e.g. more query fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
            return _refuse(request, 400, f"The query string could not be read: {exc}")
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values) for key, values in query):
            return _refuse(request, 400, "NUL characters (%00) are not allowed in the URL")
        return self.get_response(request)


def _refuse(request, status, message):
    if _is_api(request):
        return door_error_response(request.path, status, message)
    return HttpResponse(message, status=status, content_type="text/plain")


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
