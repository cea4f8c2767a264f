"""The Ollama door's DELETE /api/delete, as Ollama documents it: 200 when deleted, 404 when no node has the model."""

import pytest

from llm import catalog

pytestmark = pytest.mark.django_db


def _installed(standin):
    return {catalog.name_for_tag(model["name"]) for model in standin.request("GET", "/api/tags")["models"]}


def test_deleting_an_installed_model_answers_200_and_it_is_gone(admin_api, standin):
    assert "phi4:mini" in _installed(standin)
    response = admin_api.delete("/ollama/api/delete", {"model": "phi4:mini"}, format="json")
    assert response.status_code == 200
    assert "phi4:mini" not in _installed(standin)


def test_deleting_a_model_that_is_not_installed_is_a_404_in_ollamas_shape(admin_api, standin):
    assert admin_api.delete("/ollama/api/delete", {"model": "phi4:mini"}, format="json").status_code == 200
    response = admin_api.delete("/ollama/api/delete", {"model": "phi4:mini"}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": "model 'phi4:mini' not found"}
