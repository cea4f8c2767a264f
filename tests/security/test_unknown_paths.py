"""Unknown paths and odd URLs under each door: a JSON answer in that door's shape, never a CSRF 403 or HTML."""

import pytest

from llm.models import GenerationRequest
from tests.support.doors import assert_error_shape, door_of, send_raw

pytestmark = pytest.mark.django_db

# Paths no door serves (embed and embeddings may get routes of their own: not used here).
UNKNOWN = ["/api/v1/llm/nope", "/ollama/api/nope", "/ollama/api/copy", "/ollama/api/create", "/ollama/nope/deeper",
           "/v1/nope", "/v1/chat/completions/extra", "/v1/assistants"]


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_path_under_a_door_is_a_json_404_in_its_shape(admin_token, path, method):
    response = send_raw(admin_token[1], method, path, '{"model": "llama3.2:1b"}')
    assert response.status_code == 404
    assert path.removeprefix("/api/v1/llm") in str(assert_error_shape(response, door_of(path)))


@pytest.mark.parametrize("path", ["/ollama/api/copy", "/v1/nope"])
def test_an_unknown_path_is_a_404_even_without_a_token(path):
    response = send_raw("", "post", path, "{}")
    assert response.status_code in (401, 404)
    assert_error_shape(response, door_of(path))


def test_an_unknown_openai_path_says_so_in_openais_words(admin_token):
    body = send_raw(admin_token[1], "post", "/v1/embeddingz", "{}").json()
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["code"] == "unknown_url"


@pytest.mark.parametrize(
    "path", ["/api/v1/llm/requests/abc%00", "/api/v1/llm/pulls/1%00", "/ollama/api/tags?x=%00", "/v1/models/a%00b"]
)
def test_a_nul_in_the_url_is_a_4xx_in_the_doors_shape(admin_token, standin, path):
    response = send_raw(admin_token[1], "get", path, "")
    assert 400 <= response.status_code < 500
    assert_error_shape(response, door_of(path))


def test_a_nul_in_a_request_id_is_a_4xx_for_a_generate_token_too(api):
    response = api.get("/api/v1/llm/requests/req_%00")
    assert response.status_code in (400, 404)
    assert response.json()["success"] is False


@pytest.mark.parametrize("path", ["/ollama/api/generate", "/v1/chat/completions"])
def test_a_body_too_large_is_a_413_in_the_doors_shape(admin_token, settings, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = send_raw(admin_token[1], "post", path, '{"prompt": "' + "x" * 2000 + '"}')
    assert response.status_code == 413
    assert_error_shape(response, door_of(path))
    assert not GenerationRequest.objects.exists()


def test_a_wrong_method_on_a_known_path_is_a_405_in_the_doors_shape(admin_token):
    for path in ("/ollama/api/generate", "/v1/chat/completions"):
        response = send_raw(admin_token[1], "get", path, "")
        assert response.status_code == 405
        assert_error_shape(response, door_of(path))
