"""GET /v1/models and /v1/models/{id}, as OpenAI documents them."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model_id", ["llama3.2:3b", "phi4:mini", "qwen2.5-coder:3b"])
def test_one_model_is_described_by_its_id(api, model_id):
    response = api.get(f"/v1/models/{model_id}")
    assert response.status_code == 200
    assert response.json() == {"id": model_id, "object": "model", "created": 0, "owned_by": "llm-gateway"}


def test_a_percent_encoded_id_is_read_as_the_client_meant_it(api):
    assert api.get("/v1/models/llama3.2%3A3b").json()["id"] == "llama3.2:3b"


def test_an_unknown_model_is_a_404_model_not_found(api):
    response = api.get("/v1/models/gpt-5")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "gpt-5" in response.json()["error"]["message"]


def test_a_model_needs_a_token(anonymous_api):
    response = anonymous_api.get("/v1/models/llama3.2:3b")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
