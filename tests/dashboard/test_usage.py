"""Usage per token: requests, tokens in and out, waits, last use and rate-limit refusals, sortable."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from llm.models import ApiToken
from tests.support.history import LLAMA, NOW, finished_request, seed_hour

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def row(response, name):
    [usage] = [usage for usage in response.context["tokens"] if usage.name == name]
    return usage


def test_it_adds_up_each_tokens_requests_tokens_and_waits_in_the_range(staff_client, alice_token, clock):
    token, _ = alice_token
    seed_hour(token)
    alice = row(staff_client.get("/usage/?range=hour"), "alice's script")
    assert (alice.requests, alice.failed, alice.cancelled) == (7, 1, 2)
    # prompt tokens are a tenth of the generated ones in the seeded history
    assert (alice.tokens_in, alice.tokens_out) == (5 + 3 + 10 + 6, 50 + 100 + 30 + 60)
    # waits of the six that started: 1, 311, 360, 1, 75, 21 -> sorted 1 1 21 75 311 360
    assert (alice.wait_p50, alice.wait_p95) == (21.0, 360.0)


def test_a_token_with_nothing_in_the_range_is_listed_with_zeros(staff_client, alice_token, admin_token, clock):
    seed_hour(alice_token[0])
    ops = row(staff_client.get("/usage/?range=hour"), "ops script")
    assert (ops.requests, ops.tokens_in, ops.tokens_out, ops.wait_p50) == (0, 0, 0, None)


def test_it_sorts_by_any_column_both_ways(staff_client, alice_token, admin_token, clock):
    seed_hour(alice_token[0])
    finished_request(LLAMA, "12:00:00", "12:00:01", "12:00:02", token=admin_token[0], eval_count=1000, eval_seconds=1)

    def names(query):
        return [usage.name for usage in staff_client.get(f"/usage/?range=hour&{query}").context["tokens"]]

    assert names("sort=requests") == ["alice's script", "ops script"]
    assert names("sort=requests&dir=asc") == ["ops script", "alice's script"]
    assert names("sort=tokens_out") == ["ops script", "alice's script"]
    assert names("sort=name&dir=asc") == ["alice's script", "ops script"]
    assert names("sort=nonsense") == ["alice's script", "ops script"]


def test_a_heading_sorts_by_its_column_and_a_second_click_turns_the_order_round(staff_client, alice_token, clock):
    html = staff_client.get("/usage/?range=day&sort=tokens_in").content.decode()
    assert 'aria-sort="descending"' in html
    assert 'href="?range=day&amp;sort=tokens_in&amp;dir=asc"' in html
    assert 'href="?range=day&amp;sort=requests&amp;dir=desc"' in html


def test_refusals_count_each_call_refused_by_a_rate_limit_once(staff_client, alice_token, settings, idle_worker):
    current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    rates = {**current, "token.generate": "1/min", "generation.generate": "1/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    api = APIClient()
    api.credentials(HTTP_X_API_KEY=alice_token[1])
    body = {"model": LLAMA, "prompt": "hi", "wait": False}
    codes = [api.post("/api/v1/llm/generate", body, format="json").status_code for _ in range(3)]
    assert codes == [202, 429, 429]  # the second and third calls are refused by both limits
    assert ApiToken.objects.get(pk=alice_token[0].pk).rate_limited_count == 2
    alice = row(staff_client.get("/usage/"), "alice's script")
    assert alice.refusals == 2 and alice.last_used is not None
    assert b'data-col="refusals">2<' in staff_client.get("/usage/").content


def test_the_bootstrap_token_is_shown_as_from_the_environment(staff_client, settings):
    settings.LLM_SERVICE_TOKEN = "bootstrap-secret-value"
    ApiToken.objects.authenticate("bootstrap-secret-value")
    html = staff_client.get("/usage/").content.decode()
    assert "LLM_SERVICE_TOKEN</strong> <span class=\"muted\">environment" in html
    assert "bootstrap-secret-value" not in html


def test_the_usage_page_needs_a_staff_member(member_client):
    assert member_client.get("/usage/").status_code == 403
