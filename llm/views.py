"""Error pages: JSON under the API prefixes, Django's own pages elsewhere."""

from django.views import defaults

from llm.api.exceptions import error_response

API_PREFIXES = ("/api/", "/v1/")


def _is_api(request):
    return request.path.startswith(API_PREFIXES)


def page_not_found(request, exception):
    if _is_api(request):
        return error_response(404, f"Endpoint not found: {request.path}")
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return error_response(500, "Internal server error")
    return defaults.server_error(request)
