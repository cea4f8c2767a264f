"""The worker's claim and a request's end (llm/models/generations.py): one statement each, written once."""

import pytest

from llm.engine import nodes
from llm.models import ApiToken, Counter, GenerationRequest

pytestmark = pytest.mark.django_db

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def waiting():
    token, _ = ApiToken.issue("claims")
    return GenerationRequest.objects.create(
        token=token, model="llama3.2:1b", kind=GenerationRequest.Kind.CHAT, messages=MESSAGES,
        options={"num_predict": 4}, extra={"format": "json"},
    )


def test_a_claim_takes_a_waiting_request_and_reads_it_as_running(waiting):
    claimed = GenerationRequest.objects.claim(waiting.pk, "host:1:abc", "b")
    assert (claimed.pk, claimed.status, claimed.worker, claimed.node, claimed.attempts) == (
        waiting.pk, "running", "host:1:abc", "b", 1)
    assert claimed.started_at is not None and claimed.started_at.tzinfo is not None
    # Every field as stored, JSON included, as the ORM reads it.
    assert (claimed.messages, claimed.options, claimed.extra, claimed.token_id, claimed.request_id) == (
        MESSAGES, {"num_predict": 4}, {"format": "json"}, waiting.token_id, waiting.request_id)
    stored = GenerationRequest.objects.get(pk=waiting.pk)
    assert (stored.status, stored.started_at, stored.attempts) == ("running", claimed.started_at, 1)


def test_only_the_first_of_two_claims_takes_the_request(waiting):
    assert GenerationRequest.objects.claim(waiting.pk, "first") is not None
    assert GenerationRequest.objects.claim(waiting.pk, "second") is None
    assert GenerationRequest.objects.get(pk=waiting.pk).worker == "first"


def test_a_cancelled_request_cannot_be_claimed(waiting):
    assert waiting.cancel()
    assert GenerationRequest.objects.claim(waiting.pk, "worker") is None
    assert GenerationRequest.objects.get(pk=waiting.pk).status == "cancelled"


def test_a_request_done_stores_its_reply_counts_it_and_adds_to_its_tokens_usage(waiting):
    running = GenerationRequest.objects.claim(waiting.pk, "worker")
    running.finish("Hello.", {"done": True, "done_reason": "stop", "thinking": "Hm.", "eval_count": 3,
                              "prompt_eval_count": 5, "tool_calls": [{"function": {"name": "f", "arguments": {}}}]})
    stored = GenerationRequest.objects.get(pk=waiting.pk)
    assert (stored.status, stored.response, stored.thinking, stored.done_reason, stored.eval_count) == (
        "done", "Hello.", "Hm.", "stop", 3)
    assert stored.tool_calls == [{"function": {"name": "f", "arguments": {}}}]
    assert stored.finished_at is not None
    token = ApiToken.objects.get(pk=waiting.token_id)
    assert (token.request_count, token.prompt_tokens, token.generated_tokens) == (1, 5, 3)
    assert Counter.totals("llm_requests") == {("done", "api"): 1}


def test_a_request_cancelled_while_it_ran_stays_cancelled_when_the_worker_finishes_it(waiting):
    running = GenerationRequest.objects.claim(waiting.pk, "worker")
    GenerationRequest.objects.get(pk=waiting.pk).cancel()
    running.finish("late", {"done": True})  # the cancel had the last word
    assert running.status == "cancelled"
    stored = GenerationRequest.objects.get(pk=waiting.pk)
    assert (stored.status, stored.response) == ("cancelled", "")
    assert ApiToken.objects.get(pk=waiting.token_id).request_count == 0


def test_a_nodes_row_follows_a_change_of_its_url(settings):
    settings.LLM_NODES = {"a": "http://127.0.0.1:9", "b": "http://127.0.0.1:10"}
    assert nodes.get("a").url == "http://127.0.0.1:9"
    settings.LLM_NODES = {"a": "http://127.0.0.1:11", "b": "http://127.0.0.1:10"}
    assert nodes.get("a").url == "http://127.0.0.1:11"
