"""Refuse a request body larger than DATA_UPLOAD_MAX_MEMORY_SIZE before anyone reads it.

Django checks that setting only for form posts; DRF reads a JSON body straight
from the stream, past it. This looks at Content-Length first, for every view (our
API and the compatible front doors alike): 413, in the contract's shape on API paths.
A body without Content-Length (chunked) is not read by Django's WSGI request at all.
"""

from django.conf import settings
from django.http import HttpResponse

from llm.api.exceptions import error_response
from llm.views import _is_api


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _content_length(request) > limit:
            message = f"The request body is larger than the {limit} bytes allowed"
            if _is_api(request):
                return error_response(413, message)
            return HttpResponse(message, status=413, content_type="text/plain")
        return self.get_response(request)


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
