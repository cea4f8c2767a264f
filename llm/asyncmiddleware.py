"""Django's own middleware, without a thread hop per request under ASGI where none is needed.

Under the ASGI server Django runs each hook of a sync middleware (process_request,
process_view, process_response) through sync_to_async: a hop to a web thread and back, ~0.1
ms of CPU each on this box (docs/benchmarks.md, "Lean"). Settings.MIDDLEWARE made thirteen
of them per API call. The web server (llmsite/asgi.py) builds its chain with these
subclasses in their place (`swapped()`); settings.MIDDLEWARE keeps Django's names, which its
deployment checks look for, and WSGI (runserver, the tests' client) runs Django's own.

- `Inline`: a middleware whose hooks only look at the request and the response (no database,
  no file, nothing that blocks) runs them on the event loop: security, common, X-Frame-Options.
- `PagesOnly`: sessions, CSRF, users, messages and htmx serve the pages (dashboard, admin,
  login); the doors (/api/, /ollama/, /v1/) authenticate by token and use none of them, so
  there the middleware is skipped; for pages it runs as Django runs it. (htmx's also ties the
  request to itself in a cycle, which only the garbage collector frees: a door's request is
  freed as soon as the door is done with it, before a long wait, llm/doors/waiting.py.)
"""

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.csrf import CsrfViewMiddleware
from django.middleware.security import SecurityMiddleware
from django_htmx.middleware import HtmxMiddleware

from llm.doors.exceptions import is_door_path


class Inline:
    """Mixed in before a MiddlewareMixin whose hooks never block: run them on the event loop."""

    async def __acall__(self, request):
        response = None
        if hasattr(self, "process_request"):
            response = self.process_request(request)
        response = response or await self.get_response(request)
        if hasattr(self, "process_response"):
            response = self.process_response(request, response)
        return response


class PagesOnly:
    """Mixed in before a MiddlewareMixin the doors do not need: it passes their requests on."""

    def __call__(self, request):
        if is_door_path(request.path):
            return self.get_response(request)
        return super().__call__(request)


class InlineSecurity(Inline, SecurityMiddleware):
    pass


class InlineCommon(Inline, CommonMiddleware):
    pass


class InlineXFrameOptions(Inline, XFrameOptionsMiddleware):
    pass


class PageSessions(PagesOnly, SessionMiddleware):
    pass


class PageCsrf(PagesOnly, CsrfViewMiddleware):
    def __init__(self, get_response):
        super().__init__(get_response)
        if iscoroutinefunction(get_response):
            self.process_view = self._process_view_async  # Django takes it from the instance: no hop for a door

    def process_view(self, request, *args):
        return None if is_door_path(request.path) else super().process_view(request, *args)

    async def _process_view_async(self, request, *args):
        if is_door_path(request.path):
            return None
        return await sync_to_async(super().process_view, thread_sensitive=True)(request, *args)


class PageAuthentication(PagesOnly, AuthenticationMiddleware):
    pass


class PageMessages(PagesOnly, MessageMiddleware):
    pass


class PageHtmx(PagesOnly, HtmxMiddleware):
    pass


SWAPS = {
    "django.middleware.security.SecurityMiddleware": InlineSecurity,
    "django.middleware.common.CommonMiddleware": InlineCommon,
    "django.middleware.clickjacking.XFrameOptionsMiddleware": InlineXFrameOptions,
    "django.contrib.sessions.middleware.SessionMiddleware": PageSessions,
    "django.middleware.csrf.CsrfViewMiddleware": PageCsrf,
    "django.contrib.auth.middleware.AuthenticationMiddleware": PageAuthentication,
    "django.contrib.messages.middleware.MessageMiddleware": PageMessages,
    "django_htmx.middleware.HtmxMiddleware": PageHtmx,
}


def swapped(middleware):
    """settings.MIDDLEWARE with these classes (dotted paths) in place of Django's."""
    return [f"{__name__}.{SWAPS[path].__name__}" if path in SWAPS else path for path in middleware]
