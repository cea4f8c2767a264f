"""Every error on an API path comes in the contract's JSON shape, never as HTML."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_path_is_a_json_404(api):
    response = api.get("/api/v1/llm/invalid")
    assert response.status_code == 404
    assert response.json() == {"success": False, "error": "Not Found", "message": "Endpoint not found: /invalid"}


def test_unknown_nested_path_names_the_whole_path(api):
    response = api.post("/api/v1/llm/queue/flush", {}, format="json")
    assert response.status_code == 404
    assert response.json()["message"] == "Endpoint not found: /queue/flush"


def test_unknown_path_is_404_even_without_a_token(anonymous_api):
    assert anonymous_api.get("/api/v1/llm/nope").status_code == 404


def test_wrong_method_is_a_json_405(api):
    response = api.get("/api/v1/llm/generate")
    assert response.status_code == 405
    assert response.json() == {"success": False, "error": "Method Not Allowed", "message": 'Method "GET" not allowed.'}


def test_post_to_status_is_405(api):
    assert api.post("/api/v1/llm/status").status_code == 405


def test_missing_prompt_is_the_contracts_400(api):
    response = api.post("/api/v1/llm/generate", {"model": "llama3.2:3b"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Bad Request", "message": "model and prompt are required"}


def test_missing_model_is_the_contracts_400(api):
    response = api.post("/api/v1/llm/generate", {"prompt": "hi"}, format="json")
    assert response.json()["message"] == "model and prompt are required"


def test_empty_body_is_the_contracts_400(api):
    response = api.post("/api/v1/llm/generate", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "model and prompt are required"


def test_unknown_model_is_refused_with_400(api):
    response = api.post("/api/v1/llm/generate", {"model": "gpt-5", "prompt": "hi"}, format="json")
    assert response.status_code == 400
    assert "Unknown model: gpt-5" in response.json()["message"]
    assert response.json()["error"] == "Bad Request"


def test_malformed_json_is_a_json_400(api):
    response = api.post("/api/v1/llm/generate", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"success": False, "error": "Bad Request", "message": "Malformed JSON in request body"}


def test_a_json_array_body_is_a_400(api):
    response = api.post("/api/v1/llm/generate", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_a_form_body_is_415(api):
    response = api.post("/api/v1/llm/generate", "model=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["error"] == "Unsupported Media Type"


@pytest.mark.parametrize(
    "options, field",
    [
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": "0.7"}, "temperature"),
        ({"max_tokens": "many"}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"top_p": 3}, "top_p"),
        ({"seed": True}, "seed"),
        ({"stop": [1, 2]}, "stop"),
    ],
)
def test_wrong_option_types_are_refused_naming_the_field(api, options, field):
    body = {"model": "llama3.2:3b", "prompt": "hi", "options": options}
    response = api.post("/api/v1/llm/generate", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"options: {field}:")


def test_options_must_be_an_object(api):
    body = {"model": "llama3.2:3b", "prompt": "hi", "options": [1]}
    response = api.post("/api/v1/llm/generate", body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "options: Must be a JSON object."


def test_switch_needs_a_model(admin_api):
    response = admin_api.post("/api/v1/llm/switch", {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "model: This field is required."


def test_process_refuses_a_bad_max_iterations(admin_api):
    response = admin_api.post("/api/v1/llm/queue/process", {"max_iterations": "ten"}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith("max_iterations:")
