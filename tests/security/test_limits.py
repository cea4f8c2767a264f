"""Limits: prompt size (413), body size (413), option ranges (400 naming the field),
per-token rate limits (429 with Retry-After), expiry, and usage counted per token."""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from llm.models import ApiToken, GenerationRequest
from llmsite.settings import envnetworks, envrate
from tests.security.conftest import API, client_with

pytestmark = pytest.mark.django_db

BODY = {"model": "llama3.2:1b", "prompt": "hello", "wait": False}


def generate(client, **changes):
    return client.post(f"{API}/generate", {**BODY, **changes}, format="json")


# --- Prompt and body size -----------------------------------------------------------


def test_a_prompt_over_the_limit_is_413_in_the_contracts_shape(api, settings, idle_worker):
    settings.LLM_MAX_PROMPT_CHARS = 10
    response = generate(api, prompt="x" * 11)
    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "error": "Payload Too Large",
        "message": "prompt: longer than the 10 characters allowed",
    }
    assert not GenerationRequest.objects.exists()


def test_a_prompt_at_the_limit_is_accepted(api, settings, idle_worker):
    settings.LLM_MAX_PROMPT_CHARS = 10
    assert generate(api, prompt="x" * 10).status_code == 202


def test_a_body_over_the_limit_is_413_before_anything_reads_it(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = api.post(f"{API}/generate", json.dumps({**BODY, "prompt": "x" * 3000}), content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "success": False,
        "error": "Payload Too Large",
        "message": "The request body is larger than the 2048 bytes allowed",
    }
    assert not GenerationRequest.objects.exists()


def test_a_body_over_the_limit_is_refused_without_a_token_too(anonymous_api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = anonymous_api.post(f"{API}/switch", "x" * 3000, content_type="application/json")
    assert response.status_code == 413


def test_a_body_over_the_limit_outside_the_api_is_a_plain_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = client.post("/accounts/login/", "x" * 3000, content_type="text/plain")
    assert response.status_code == 413 and response["Content-Type"].startswith("text/plain")


# --- Options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("max_tokens", 10**9),
        ("num_predict", -3),
        ("num_ctx", 10**7),
        ("num_ctx", 0),
        ("top_k", -1),
        ("top_p", 1.5),
        ("seed", 2**64),
        ("mirostat", 3),
        ("num_thread", 0),
        ("repeat_penalty", 1000),
    ],
)
def test_an_option_out_of_range_is_400_naming_the_field(api, field, value):
    response = generate(api, options={field: value})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Bad Request"
    assert body["message"].startswith(f"options: {field}: ")


@pytest.mark.parametrize("field, value", [("max_tokens", 131_072), ("num_ctx", 131_072), ("temperature", 2), ("seed", -1)])
def test_an_option_at_the_edge_of_its_range_is_accepted(api, idle_worker, field, value):
    assert generate(api, options={field: value}).status_code == 202


# --- Rate limits ------------------------------------------------------------------------


def test_a_token_over_its_rate_gets_429_with_retry_after(api, rates):
    rates(**{"token.generate": "3/min"})
    assert [api.get(f"{API}/models").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(f"{API}/models")
    assert response.status_code == 429
    body = response.json()
    assert body["success"] is False and body["error"] == "Too Many Requests"
    assert body["message"].startswith("Request was throttled")
    assert 1 <= int(response["Retry-After"]) <= 61


def test_the_rate_limit_counts_each_token_apart(api, bob_token, rates):
    rates(**{"token.generate": "2/min"})
    for _ in range(2):
        api.get(f"{API}/models")
    assert api.get(f"{API}/models").status_code == 429
    assert client_with(bob_token[1]).get(f"{API}/models").status_code == 200


def test_generations_have_a_tighter_rate_of_their_own(api, rates, idle_worker):
    rates(**{"generation.generate": "2/min"})
    assert [generate(api).status_code for _ in range(3)] == [202, 202, 429]
    assert api.get(f"{API}/models").status_code == 200
    assert GenerationRequest.objects.count() == 2


def test_admin_tokens_have_a_rate_of_their_own(api, admin_api, rates):
    rates(**{"token.generate": "1/min", "token.admin": None})
    api.get(f"{API}/models")
    assert api.get(f"{API}/models").status_code == 429
    assert {admin_api.get(f"{API}/models").status_code for _ in range(5)} == {200}


def test_a_refused_token_is_not_counted_against_anyone(anonymous_api, api, rates):
    rates(**{"token.generate": "1/min"})
    for _ in range(3):
        assert anonymous_api.get(f"{API}/models").status_code == 401
    assert api.get(f"{API}/models").status_code == 200


def test_rate_settings_reject_what_they_cannot_read(monkeypatch):
    monkeypatch.setenv("LLM_RATE_LIMIT", "lots")
    with pytest.raises(ImproperlyConfigured, match="LLM_RATE_LIMIT must be a rate like 60/min"):
        envrate("LLM_RATE_LIMIT", "300/min")
    monkeypatch.setenv("LLM_RATE_LIMIT", "off")
    assert envrate("LLM_RATE_LIMIT", "300/min") is None
    monkeypatch.setenv("METRICS_ALLOW", "127.0.0.1, not-an-address")
    with pytest.raises(ImproperlyConfigured, match="'not-an-address' is not an IP address"):
        envnetworks("METRICS_ALLOW", [])


# --- Expiry and usage ---------------------------------------------------------------------


def test_a_token_works_until_it_expires(alice_token):
    token, raw = alice_token
    token.expires_at = timezone.now() + timedelta(minutes=5)
    token.save(update_fields=["expires_at"])
    assert client_with(raw).get(f"{API}/models").status_code == 200
    token.expires_at = timezone.now() - timedelta(seconds=1)
    token.save(update_fields=["expires_at"])  # through the model: the token trusted since is forgotten at once
    assert client_with(raw).get(f"{API}/models").status_code == 401


def test_create_token_makes_an_admin_token_that_expires(capsys):
    call_command("create_token", "deploys", "--role", "admin", "--expires-in-days", "30")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.authenticate(raw)
    assert token.role == "admin" and token.is_admin
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert client_with(raw).post(f"{API}/queue/clear").status_code == 200


def test_create_token_makes_a_generate_token_by_default(capsys):
    call_command("create_token", "blog")
    token = ApiToken.objects.authenticate(capsys.readouterr().out.strip())
    assert token.role == "generate" and token.expires_at is None


def test_create_token_refuses_an_expiry_in_the_past():
    with pytest.raises(CommandError, match="--expires-in-days must be at least 1"):
        call_command("create_token", "blog", "--expires-in-days", "0")


@pytest.mark.django_db(transaction=True)
def test_usage_is_added_up_per_token_as_generations_finish(api, alice_token, bob_token, standin, inline_worker):
    for words in (3, 5):
        assert generate(api, wait=True, options={"max_tokens": words}).status_code == 200
    token = ApiToken.objects.get(pk=alice_token[0].pk)
    done = GenerationRequest.objects.filter(token=token)
    assert token.request_count == 2
    assert token.generated_tokens == sum(done.values_list("eval_count", flat=True)) == 8
    assert token.prompt_tokens == sum(done.values_list("prompt_eval_count", flat=True)) > 0
    assert ApiToken.objects.get(pk=bob_token[0].pk).request_count == 0


@pytest.mark.django_db(transaction=True)
def test_a_failed_generation_is_not_counted_as_usage(api, alice_token, standin, inline_worker):
    standin.configure(faults={"error": {"status": 500, "message": "llama runner process has terminated"}})
    assert generate(api, wait=True).status_code == 502
    assert ApiToken.objects.get(pk=alice_token[0].pk).request_count == 0
