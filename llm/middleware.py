"""Requests refused before any view sees them, in the door's error shape on its paths.

BodySizeLimitMiddleware: a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE. Django
checks that setting only for form posts; DRF reads a JSON body straight from the
stream, past it. This looks at Content-Length first, for every view (our API and
the compatible front doors alike): 413. A body without Content-Length (chunked) is
not read by Django's WSGI request at all.

NulInUrlMiddleware: a NUL character in the path or the query string. No id or name
of ours holds one, and PostgreSQL cannot even compare one: 400.

StaticFilesMiddleware: WhiteNoise's, for the server's event loop too.

All of them are sync and async alike. Under ASGI one sync-only middleware makes Django run
everything below it through async_to_sync, on one thread held for the whole request: a
client waiting for its generation would hold a thread again.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware

from llm.doors.exceptions import door_error_response
from llm.views import _is_api


class _AnswersAtOnce:
    """A middleware that may answer a request itself, quickly and without the database
    (`answer(request)`), else passes it on; sync or async as the handler below it."""

    sync_capable = async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self.get_response):
            return self._passed_on(request)
        return self.answer(request) or self.get_response(request)

    async def _passed_on(self, request):
        return self.answer(request) or await self.get_response(request)

    def answer(self, request):
        raise NotImplementedError


class BodySizeLimitMiddleware(_AnswersAtOnce):
    def answer(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and _content_length(request) > limit:
            message = f"The request body is larger than the {limit} bytes allowed"
            return _refuse(request, 413, message)
        return None


class NulInUrlMiddleware(_AnswersAtOnce):
    def answer(self, request):
        try:
            query = request.GET.lists()
        except SuspiciousOperation as exc:  # e.g. more query fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
            return _refuse(request, 400, f"The query string could not be read: {exc}")
        if "\x00" in request.path or any("\x00" in key or any("\x00" in v for v in values) for key, values in query):
            return _refuse(request, 400, "NUL characters (%00) are not allowed in the URL")
        return None


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    sync_capable = async_capable = True

    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self.get_response):
            return self._passed_on(request)
        return super().__call__(request)

    async def _passed_on(self, request):
        static_file = self.find_file(request.path_info) if self.autorefresh else self.files.get(request.path_info)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)


def _refuse(request, status, message):
    if _is_api(request):
        return door_error_response(request.path, status, message)
    return HttpResponse(message, status=status, content_type="text/plain")


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
