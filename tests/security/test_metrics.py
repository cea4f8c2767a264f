"""GET /metrics: Prometheus's format, not open to the world, and figures that move when work happens."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from llm.models import ModelPull
from tests.security.conftest import API

pytestmark = pytest.mark.django_db


def scrape(client, **headers):
    response = client.get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return samples(response.content.decode())


def samples(text):
    """{(name, frozenset(labels.items())): value} of every sample."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, frozenset(sample.labels.items())] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, frozenset(labels.items())), 0.0)


# --- Who may scrape -------------------------------------------------------------------


def test_a_direct_request_from_the_box_itself_may_scrape(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "# TYPE llm_queue_length gauge" in response.content.decode()


def test_a_request_from_elsewhere_is_refused(client):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7").status_code == 403


def test_a_request_through_a_proxy_on_the_box_is_refused(client):
    # A TLS proxy on the same box connects from 127.0.0.1 and says whom it forwards.
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert response.status_code == 403


def test_a_request_that_came_over_https_is_refused_without_a_token(client):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", secure=True).status_code == 403


def test_an_empty_allow_list_refuses_the_box_itself(client, settings):
    settings.METRICS_ALLOW = []
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_the_metrics_token_opens_it_from_anywhere(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200


def test_a_wrong_token_is_refused_even_from_the_box(client, settings):
    settings.METRICS_TOKEN = "scrape-secret"
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer guess")
    assert response.status_code == 403


def test_an_admin_api_token_opens_it(client, admin_token):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_API_KEY=admin_token[1]).status_code == 200


def test_a_generate_api_token_does_not(client, alice_token):
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_API_KEY=alice_token[1]).status_code == 403


def test_a_revoked_admin_token_does_not(client, admin_token):
    admin_token[0].revoke()
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_API_KEY=admin_token[1]).status_code == 403


# --- Figures that move ------------------------------------------------------------------


def generate(client, model="llama3.2:1b", **extra):
    return client.post(f"{API}/generate", {"model": model, "prompt": "count these words", **extra}, format="json")


def test_queue_length_follows_the_waiting_requests(client, api, idle_worker):
    assert value(scrape(client), "llm_queue_length") == 0
    for _ in range(3):
        generate(api, wait=False)
    assert value(scrape(client), "llm_queue_length") == 3
    assert value(scrape(client), "llm_requests_running") == 0


@pytest.mark.django_db(transaction=True)
def test_finished_generations_count_by_outcome_and_add_up_tokens(client, api, standin, inline_worker):
    before = scrape(client)
    assert generate(api, wait=True, options={"max_tokens": 4}).status_code == 200
    assert generate(api, wait=True, options={"max_tokens": 6}).status_code == 200
    standin.configure(faults={"error": {"status": 500, "message": "llama runner process has terminated"}})
    assert generate(api, wait=True).status_code == 502
    after = scrape(client)
    assert value(after, "llm_requests_total", outcome="done", source="api") == 2
    assert value(after, "llm_requests_total", outcome="failed", source="api") == 1
    assert value(before, "llm_generated_tokens_total", model="llama3.2:1b") == 0
    assert value(after, "llm_generated_tokens_total", model="llama3.2:1b") == 10
    assert value(after, "llm_prompt_tokens_total", model="llama3.2:1b") > 0


def test_cleared_requests_count_as_cancelled(client, api, admin_api, idle_worker):
    for _ in range(2):
        generate(api, wait=False)
    admin_api.post(f"{API}/queue/clear")
    found = scrape(client)
    assert value(found, "llm_requests_total", outcome="cancelled", source="api") == 2
    assert value(found, "llm_queue_length") == 0


@pytest.mark.django_db(transaction=True)
def test_model_loads_swaps_and_load_seconds_are_counted(client, admin_api, standin):
    for model in ["gemma3:4b", "qwen3:4b", "qwen3:4b"]:
        assert admin_api.post(f"{API}/switch", {"model": model}, format="json").status_code == 200
    found = scrape(client)
    assert value(found, "llm_model_load_seconds_count", model="gemma3:4b") == 1
    assert value(found, "llm_model_load_seconds_count", model="qwen3:4b") == 1  # the second switch found it loaded
    assert value(found, "llm_model_swaps_total", model="gemma3:4b") == 0  # nothing was resident before it
    assert value(found, "llm_model_swaps_total", model="qwen3:4b") == 1
    # The stand-in takes 0.05 s to load a model.
    assert value(found, "llm_model_load_seconds_sum", model="qwen3:4b") >= 0.05


@pytest.mark.django_db(transaction=True)
def test_a_generation_that_loads_its_model_counts_a_load(client, api, standin, inline_worker):
    generate(api, model="phi4:mini", wait=True)
    generate(api, model="phi4:mini", wait=True)
    assert value(scrape(client), "llm_model_load_seconds_count", model="phi4:mini") == 1


@pytest.mark.django_db(transaction=True)
def test_pull_bytes_add_up_what_was_downloaded(client, admin_api, standin, inline_worker):
    standin.configure(installed=[])
    assert value(scrape(client), "llm_pull_bytes_total", model="llama3.2:1b") == 0
    assert admin_api.post(f"{API}/pull", {"model": "llama3.2:1b"}, format="json").status_code == 200
    found = scrape(client)
    pull = ModelPull.objects.get()
    assert value(found, "llm_pull_bytes_total", model="llama3.2:1b") == pull.total_bytes > 1_000_000_000
    assert value(found, "llm_pulls_total", status="done") == 1
