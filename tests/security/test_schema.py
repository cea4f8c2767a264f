"""The OpenAPI schema: served to anyone, valid, and covering every route of the API."""

import re

import pytest
from drf_spectacular.validation import validate_schema

from llm.doors.urls import router
from tests.security.conftest import ADMIN_CALLS, CALLS

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1/llm"


@pytest.fixture
def schema(client):
    response = client.get(f"{PREFIX}/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def routed_operations():
    """(METHOD, path) for every route of the API's router, read from the router itself."""
    operations = set()
    for pattern in router.urls:
        actions = getattr(pattern.callback, "actions", {})
        route = pattern.pattern.regex.pattern.lstrip("^").removesuffix("$").removesuffix("/?")
        route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route).replace("{pk}", "{id}")  # as drf-spectacular names it
        # DRF adds HEAD to a GET route once it has served one; OpenAPI leaves HEAD implicit.
        operations |= {(method.upper(), f"{PREFIX}/{route}") for method in actions if method != "head"}
    return operations


def documented_operations(schema, prefix=PREFIX):
    return {(method.upper(), path) for path, item in schema["paths"].items() for method in item if path.startswith(prefix)}


def test_the_schema_needs_no_token(client):
    response = client.get(f"{PREFIX}/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")


def test_the_schema_is_valid_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate_schema(schema)


def test_the_schema_documents_every_route_of_the_api(schema):
    assert documented_operations(schema) == routed_operations()


def test_the_security_tests_call_every_documented_operation(schema):
    called = {(method.upper(), re.sub(r"/(req_0000|1)$", "", PREFIX + path)) for method, path, _, _ in CALLS}
    documented = {(method, re.sub(r"/\{\w+\}$", "", path)) for method, path in documented_operations(schema)}
    assert called == documented


def test_every_operation_documents_401_and_429_in_the_contracts_shape(schema):
    for path, item in schema["paths"].items():
        if not path.startswith(PREFIX):
            continue
        for method, operation in item.items():
            for code in ("401", "429"):
                content = operation["responses"][code]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            assert "Retry-After" in operation["responses"]["429"]["headers"]
            assert operation["security"] == [{"ApiKey": []}, {"Bearer": []}]


DOOR_OPERATIONS = {
    ("GET", "/ollama/api/version"), ("GET", "/ollama/api/tags"), ("GET", "/ollama/api/ps"),
    ("POST", "/ollama/api/show"), ("POST", "/ollama/api/generate"), ("POST", "/ollama/api/chat"),
    ("POST", "/ollama/api/pull"), ("DELETE", "/ollama/api/delete"),
    ("GET", "/v1/models"), ("GET", "/v1/models/{model_id}"), ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"),
}


def test_the_schema_documents_the_ollama_and_openai_doors_too(schema):
    assert DOOR_OPERATIONS <= documented_operations(schema, "/ollama/") | documented_operations(schema, "/v1/")


def test_door_operations_document_errors_in_the_doors_shape(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if path.startswith("/ollama/"):
                error = operation["responses"]["400" if method != "get" else "401"]["content"]["application/json"]["schema"]
                assert error["required"] == ["error"], (method, path)
            elif path.startswith("/v1/"):
                error = operation["responses"]["401"]["content"]["application/json"]["schema"]
                assert error["properties"]["error"]["required"] == ["message", "type", "param", "code"], (method, path)


def test_admin_operations_document_403(schema):
    for method, path, _, _ in ADMIN_CALLS:
        documented = schema["paths"].get(PREFIX + path) or schema["paths"][PREFIX + re.sub(r"/1$", "/{id}", path)]
        assert "403" in documented[method]["responses"], (method, path)


def test_the_prompt_limit_and_option_ranges_are_in_the_schema(schema, settings):
    generate = schema["components"]["schemas"]["Generate"]
    assert generate["properties"]["prompt"]["maxLength"] == settings.LLM_MAX_PROMPT_CHARS
    options = schema["components"]["schemas"]["Options"]
    assert options["properties"]["temperature"]["maximum"] == 2
    assert options["additionalProperties"] is True
    assert "413" in schema["paths"][f"{PREFIX}/generate"]["post"]["responses"]


def test_the_models_in_the_schema_are_the_catalogs(client, settings):
    settings.LLM_CATALOG = {"tiny": {"tag": "smollm2:135m", "description": "Tiny"}}
    schema = client.get(f"{PREFIX}/schema/?format=json").json()
    assert schema["components"]["schemas"]["ModelEnum"]["enum"] == ["tiny"]


def test_the_docs_page_shows_the_schema_without_a_cdn(client):
    response = client.get(f"{PREFIX}/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html and f"{PREFIX}/schema/" in html
    assert "cdn.jsdelivr.net" not in html and "/static/drf_spectacular_sidecar/" in html
