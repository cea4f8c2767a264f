"""The hooks settings.SPECTACULAR_SETTINGS runs around drf-spectacular's generation."""

API_PREFIX = "/api/v1/llm/"
DOOR_PREFIXES = (API_PREFIX, "/ollama/", "/v1/")


def only_this_api(endpoints, **kwargs):
    """Preprocessing hook: the three doors (our API at the contract's paths, no trailing slash;
    the Ollama and OpenAI doors at their paths), not the admin or the dashboard."""
    return [
        (path.rstrip("/") if path.startswith(API_PREFIX) else path, regex, method, callback)
        for path, regex, method, callback in endpoints
        if path.startswith(DOOR_PREFIXES)
    ]


def door_bodies_required(result, **kwargs):
    """Postprocessing hook: the compatible doors' calls with a body need one (`{}` at least)."""
    for path, operations in result["paths"].items():
        for operation in operations.values():
            if not path.startswith(API_PREFIX) and "requestBody" in operation:
                operation["requestBody"]["required"] = True
    return result


def retry_after_on_429(result, **kwargs):
    """Postprocessing hook: every 429 says how long to wait."""
    header = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}, "required": True}}
    for operations in result["paths"].values():
        for operation in operations.values():
            if "429" in operation.get("responses", {}):
                operation["responses"]["429"]["headers"] = header
    return result
