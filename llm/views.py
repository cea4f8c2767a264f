"""Error pages: JSON in each door's shape under its prefix, Django's own pages elsewhere; and the site's icon."""

from django.shortcuts import redirect
from django.templatetags.static import static
from django.views import defaults
from django.views.decorators.cache import cache_control

from llm.doors.exceptions import door_error_response, is_door_path


def _is_api(request):
    return is_door_path(request.path)


def bad_request(request, exception):
    """Django's own 400s (a bad Host header, too many query fields, ...)."""
    if _is_api(request):
        return door_error_response(request.path, 400, "Bad request: the request could not be read")
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return door_error_response(request.path, 403, "Forbidden")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return door_error_response(request.path, 404, f"Endpoint not found: {request.path}")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return door_error_response(request.path, 500, "Internal server error")
    return defaults.server_error(request)


@cache_control(max_age=86400, public=True)
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page says: send them to the icon (static, hashed name)."""
    return redirect(static("llm/favicon.svg"))
