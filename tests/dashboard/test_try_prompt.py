"""Trying a prompt from the browser: it goes through the same queue as the API."""

import pytest

from llm.models import GenerationRequest
from tests.dashboard.conftest import messages_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_offers_the_catalogs_models(staff_client):
    response = staff_client.get("/try/")
    assert response.status_code == 200
    assert b'<option value="qwen2.5-coder:3b">' in response.content


def test_a_prompt_is_queued_and_the_request_page_follows_it(staff_client, standin, idle_worker):
    response = staff_client.post(
        "/try/", {"model": "llama3.2:1b", "prompt": "Say hi", "max_tokens": "16", "temperature": "0.5"}, follow=True
    )
    generation = GenerationRequest.objects.get()
    assert response.redirect_chain == [(f"/requests/{generation.request_id}/", 302)]
    assert messages_of(response) == [f"Queued {generation.request_id} on llama3.2:1b."]
    assert (generation.status, generation.token, generation.prompt) == ("queued", None, "Say hi")
    assert generation.source == "dashboard"
    assert generation.options == {"num_predict": 16, "temperature": 0.5}


def test_empty_options_leave_the_models_defaults(staff_client, standin, idle_worker):
    staff_client.post("/try/", {"model": "llama3.2:1b", "prompt": "Say hi"})
    assert GenerationRequest.objects.get().options == {}


def test_the_worker_answers_it(staff_client, standin, inline_worker):
    response = staff_client.post("/try/", {"model": "llama3.2:1b", "prompt": "Say hi"}, follow=True)
    generation = GenerationRequest.objects.get()
    assert generation.status == "done"
    assert "echo: Say hi" in response.content.decode()


def test_the_log_says_which_user_sent_it(staff_client, standin, idle_worker, caplog):
    caplog.set_level("INFO", logger="llm.dashboard.views")
    staff_client.post("/try/", {"model": "llama3.2:1b", "prompt": "Say hi"})
    assert f"Dashboard user olga queued {GenerationRequest.objects.get().request_id}" in caplog.text


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"model": "mixtral:8x22b", "prompt": "hi"}, "model", "Unknown model: mixtral:8x22b is not in the catalog."),
        ({"model": "llama3.2:1b", "prompt": ""}, "prompt", "This field is required."),
        ({"model": "llama3.2:1b", "prompt": "hi", "max_tokens": "0"}, "max_tokens", None),
        ({"model": "llama3.2:1b", "prompt": "hi", "temperature": "9"}, "temperature", None),
    ],
)
def test_a_bad_form_is_shown_again_with_its_errors(staff_client, data, field, error):
    response = staff_client.post("/try/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors and (error is None or errors[field] == [error])
    assert not GenerationRequest.objects.exists()


def test_a_full_queue_is_said_on_the_form_not_a_server_error(staff_client, standin, idle_worker, settings):
    settings.LLM_MAX_QUEUE_LENGTH = 1
    staff_client.post("/try/", {"model": "llama3.2:1b", "prompt": "first"})
    response = staff_client.post("/try/", {"model": "llama3.2:1b", "prompt": "second"})
    assert response.status_code == 200
    assert "The queue is full" in " ".join(response.context["form"].non_field_errors())
    assert GenerationRequest.objects.count() == 1
