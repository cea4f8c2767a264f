"""No token takes the box: at most LLM_MAX_OPEN_WAITS_PER_TOKEN calls of one token wait for
their answer or stream it at once, through every door; beyond it a 429 in the door's shape,
with Retry-After, and nothing stored."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections

from llm.models import ApiToken, GenerationRequest
from tests.rules.conftest import GENERATIONS, MODEL, NATIVE, Generation, client_for, way_id

CAP = 2


def _native(**fields):
    return lambda text, where: {"model": MODEL, "prompt": text, **fields}


def _chat(**fields):
    return lambda text, where: {"model": MODEL, "messages": [{"role": "user", "content": text}], **fields}


NATIVE_STREAM = Generation("native", f"{NATIVE}/generate", _native(stream=True), 200, "native stream")

# Every way a client waits for its answer or streams it.
WAITS = [
    NATIVE_STREAM,
    Generation("native", f"{NATIVE}/generate", _native(wait=True), 200, "native wait"),
    GENERATIONS[1],  # /ollama/api/generate, streamed
    Generation("ollama", "/ollama/api/chat", _chat(stream=False), 200, "ollama chat unstreamed"),
    Generation("ollama", "/ollama/api/embed", lambda text, where: {"model": MODEL, "input": text}, 200, "ollama embed"),
    GENERATIONS[4],  # /v1/chat/completions, streamed
    Generation("openai", "/v1/completions", _native(stream=False), 200, "openai completions unstreamed"),
    Generation("openai", "/v1/embeddings", lambda text, where: {"model": MODEL, "input": text}, 200, "openai embeddings"),
]


@pytest.fixture
def cap(settings):
    settings.LLM_MAX_OPEN_WAITS_PER_TOKEN = CAP


@pytest.fixture
def held(api, idle_worker, cap):
    """The token's CAP places, taken by streams left open (the worker runs nothing)."""
    streams = [NATIVE_STREAM.send(api) for _ in range(CAP)]
    assert [stream.status_code for stream in streams] == [200] * CAP
    yield streams
    for stream in streams:
        end(stream)


def end(stream):
    """Close a stream as the server does once its client has gone. (Without Django's end-of-request
    signal, as the test client does: it would close the test's database connection.)"""
    request_finished.disconnect(close_old_connections)
    try:
        stream.close()
    finally:
        request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.parametrize("way", WAITS, ids=way_id)
def test_it_refuses_a_wait_past_the_tokens_open_waits_through_every_door_with_429(api, held, way):
    response = way.send(api)
    assert response.status_code == 429
    assert "LLM_MAX_OPEN_WAITS_PER_TOKEN" in way.error(response)
    assert int(response["Retry-After"]) >= 1
    assert GenerationRequest.objects.count() == CAP, "a refused call stores nothing"


@pytest.mark.django_db
def test_a_stream_that_ends_gives_its_place_back(api, held):
    end(held[0])
    assert NATIVE_STREAM.send(api).status_code == 200


@pytest.mark.django_db
def test_a_call_that_does_not_wait_is_not_counted(api, held):
    assert GENERATIONS[0].send(api).status_code == 202  # native, "wait": false


@pytest.mark.django_db
def test_another_token_is_not_held_back(held):
    _, bobs_key = ApiToken.issue("bob's script")
    assert NATIVE_STREAM.send(client_for(bobs_key)).status_code == 200


@pytest.mark.django_db
def test_a_call_refused_by_the_queue_bound_gives_its_place_back(api, idle_worker, cap, settings):
    settings.LLM_MAX_QUEUE_LENGTH = 1
    GenerationRequest.objects.create(model=MODEL, prompt="waiting")
    for _ in range(CAP + 1):
        assert NATIVE_STREAM.send(api).status_code == 503
    settings.LLM_MAX_QUEUE_LENGTH = 10
    assert NATIVE_STREAM.send(api).status_code == 200
