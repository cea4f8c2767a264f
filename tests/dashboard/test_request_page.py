"""A request's page: prompt, options, response, Ollama's timings, error."""

import pytest
from django.utils import timezone

from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db


def finished_request(**fields):
    now = timezone.now()
    values = {
        "model": "llama3.2:1b",
        "prompt": "What is PHP?",
        "options": {"num_predict": 64, "temperature": 0.2},
        "status": "done",
        "response": "echo: What is PHP?",
        "done_reason": "stop",
        "started_at": now,
        "finished_at": now,
        "prompt_eval_count": 4,
        "eval_count": 5,
        "total_duration": 1_500_000_000,
        "load_duration": 250_000_000,
        "prompt_eval_duration": 50_000_000,
        "eval_duration": 500_000_000,
    }
    return GenerationRequest.objects.create(**{**values, **fields})


def test_it_shows_the_prompt_options_response_and_timings(staff_client):
    generation = finished_request()
    response = staff_client.get(f"/requests/{generation.request_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "What is PHP?" in html and "echo: What is PHP?" in html
    assert "num_predict" in html and "temperature" in html
    assert dict(response.context["timings"]) == {
        "Total": "1.5 s",
        "Model load": "250 ms",
        "Prompt tokens": 4,
        "Prompt evaluation": "50 ms",
        "Generated tokens": 5,
        "Generation": "500 ms",
        "Speed": "10.0 tokens/s",
    }


def test_it_shows_the_error_of_a_failed_request(staff_client):
    generation = GenerationRequest.objects.create(
        model="llama3.2:1b", prompt="hi", status="failed", error="Ollama is not reachable at http://x"
    )
    html = staff_client.get(f"/requests/{generation.request_id}/").content.decode()
    assert 'data-test="request-error">Ollama is not reachable at http://x<' in html


def test_a_waiting_request_shows_its_place_and_refreshes_itself(staff_client):
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="first")
    generation = GenerationRequest.objects.create(model="llama3.2:1b", prompt="second")
    response = staff_client.get(f"/requests/{generation.request_id}/")
    assert response.context["generation"].position == 2
    assert f'hx-get="/requests/{generation.request_id}/live/"' in response.content.decode()


def test_a_finished_request_stops_refreshing(staff_client):
    generation = finished_request()
    assert b"hx-get" not in staff_client.get(f"/requests/{generation.request_id}/live/").content


def test_the_live_partial_is_the_request_without_the_page(staff_client):
    generation = finished_request()
    html = staff_client.get(f"/requests/{generation.request_id}/live/").content.decode()
    assert 'id="request"' in html and "<html" not in html


def test_an_unknown_request_is_404(staff_client):
    assert staff_client.get("/requests/req_nope/").status_code == 404


def test_a_request_whose_text_the_retention_removed_says_so(staff_client, settings):
    from datetime import timedelta

    from llm import retention

    settings.LLM_KEEP_REQUEST_TEXT_DAYS = 7
    generation = finished_request(finished_at=timezone.now() - timedelta(days=8))
    retention.prune()
    html = staff_client.get(f"/requests/{generation.request_id}/").content.decode()
    assert 'data-test="text-removed"' in html and "What is PHP?" not in html


def test_a_recent_request_with_an_empty_prompt_is_not_said_to_be_pruned(staff_client):
    generation = finished_request(prompt="", response="")
    html = staff_client.get(f"/requests/{generation.request_id}/").content.decode()
    assert 'data-test="text-removed"' not in html and "No response." in html


def test_it_shows_the_models_thinking_and_the_tools_it_called(staff_client):
    call = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    generation = finished_request(response="", thinking="The question is: weather", tool_calls=[call])
    html = staff_client.get(f"/requests/{generation.request_id}/").content.decode()
    assert "The question is: weather" in html
    assert "<code>get_weather</code> with <code>{&quot;city&quot;: &quot;Paris&quot;}</code>" in html
    assert "No response." not in html
