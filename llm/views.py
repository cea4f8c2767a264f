"""Error pages: JSON in each door's shape under its prefix, Django's own pages elsewhere."""

from django.views import defaults

from llm.api.exceptions import door_error_response, is_door_path


def _is_api(request):
    return is_door_path(request.path)


def page_not_found(request, exception):
    if _is_api(request):
        return door_error_response(request.path, 404, f"Endpoint not found: {request.path}")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return door_error_response(request.path, 500, "Internal server error")
    return defaults.server_error(request)
