"""Requests Django itself refuses before any view (a Host it does not serve, a query string of too many
fields) and ids that only look like numbers: a 4xx in the door's own shape, never Django's HTML page."""

import pytest

from tests.support.doors import assert_error_shape

DOOR_GETS = [("/api/v1/llm/status", "native"), ("/ollama/api/tags", "ollama"), ("/v1/models", "openai")]


@pytest.mark.parametrize("path, door", DOOR_GETS)
def test_a_query_string_of_too_many_fields_is_a_400_in_the_doors_shape(client, alice_token, path, door):
    query = "&".join(f"f{n}=1" for n in range(1500))
    response = client.get(f"{path}?{query}", HTTP_AUTHORIZATION=f"Bearer {alice_token[1]}")
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("path, door", DOOR_GETS)
def test_a_host_this_service_does_not_serve_is_a_400_in_the_doors_shape(client, alice_token, path, door):
    response = client.get(path, HTTP_HOST="elsewhere.invalid", HTTP_AUTHORIZATION=f"Bearer {alice_token[1]}")
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("pull_id", ["²", "1²", "٣", "99999999999999999999999"])
def test_a_pull_id_that_only_looks_like_a_number_is_not_found(admin_api, pull_id):
    response = admin_api.get(f"/api/v1/llm/pulls/{pull_id}")
    assert response.status_code == 404
    assert_error_shape(response, "native")
