"""An embed is a request of the one queue: the single-model rule and the queue policy apply to it."""

import pytest

from llm.queue import intake, runner
from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

GENERATE_MODEL, EMBED_MODEL = "gemma3:4b", "qwen3:4b"  # the two overflow the stand-in's 4 GiB together


def queue_generation_embed_generation(token):
    first = intake.submit_generation(token, GENERATE_MODEL, "first of two", {"num_predict": 4})
    embed = intake.submit_generation(token, EMBED_MODEL, kind=GenerationRequest.Kind.EMBED, input=["between them"])
    second = intake.submit_generation(token, GENERATE_MODEL, "second of two", {"num_predict": 4})
    return first, embed, second


def started_order(*requests):
    for request in requests:
        request.refresh_from_db()
    assert [request.status for request in requests] == ["done"] * len(requests)
    return [request.pk for request in sorted(requests, key=lambda request: request.started_at)]


def test_swap_aware_runs_the_embed_after_the_generations_of_the_loaded_model(alice_token, standin, idle_worker, settings):
    settings.LLM_SCHEDULER = "swap-aware"
    first, embed, second = queue_generation_embed_generation(alice_token[0])
    assert runner.drain() == 3
    assert started_order(first, embed, second) == [first.pk, second.pk, embed.pk]
    counters = standin.counters()
    assert counters["loads"] == 2  # the generations' model, then the embedding's
    assert counters["max_resident"] == 1 and counters["load_failures"] == 0
    assert counters["max_concurrent_generations"] == 1
    assert counters["embeds_by_model"] == {EMBED_MODEL: 1}
    assert counters["resident"] == [EMBED_MODEL]


def test_fifo_swaps_to_the_embedding_model_and_back(alice_token, standin, idle_worker, settings):
    settings.LLM_SCHEDULER = "fifo"
    first, embed, second = queue_generation_embed_generation(alice_token[0])
    assert runner.drain() == 3
    assert started_order(first, embed, second) == [first.pk, embed.pk, second.pk]
    counters = standin.counters()
    assert counters["loads"] == 3 and counters["unloads"] == 2
    assert counters["max_resident"] == 1 and counters["load_failures"] == 0


def test_an_embed_that_cannot_reach_ollama_fails_saying_why(alice_token, standin, idle_worker, settings):
    settings.LLM_OLLAMA_RETRY_SECONDS = 0.1
    standin.configure(faults={"down": True})
    embed = intake.submit_generation(alice_token[0], EMBED_MODEL, kind=GenerationRequest.Kind.EMBED, input=["x"])
    runner.drain()
    embed.refresh_from_db()
    assert embed.status == "failed" and "not reachable" in embed.error
    assert embed.embeddings is None
