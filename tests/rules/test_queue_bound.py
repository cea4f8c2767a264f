"""The queue bound is taken atomically: N submits at once against a bound B accept exactly B."""

import threading

import pytest
from django.db import connections

from llm.models import GenerationRequest
from tests.rules.conftest import GENERATIONS, client_for

pytestmark = pytest.mark.django_db(transaction=True)

SUBMITS = 40
BOUND = 25


def test_it_accepts_exactly_the_bound_when_many_submit_at_once_through_every_door(
    alice_token, settings, rates, idle_worker
):
    settings.LLM_MAX_QUEUE_LENGTH = BOUND
    rates(**{"generation.generate": None, "token.generate": None})
    start = threading.Barrier(SUBMITS, timeout=60)
    outcomes = []

    def submit(way):
        try:
            client = client_for(alice_token[1])
            start.wait()
            response = way.send(client)
            outcomes.append("accepted" if response.status_code == way.accepted else response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit, args=(GENERATIONS[n % len(GENERATIONS)],)) for n in range(SUBMITS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(outcomes) == SUBMITS
    assert (outcomes.count("accepted"), outcomes.count(503)) == (BOUND, SUBMITS - BOUND)
    assert GenerationRequest.objects.count() == BOUND


@pytest.mark.parametrize("way", GENERATIONS, ids=lambda way: way.id)
def test_a_call_refused_because_the_queue_is_full_costs_the_token_no_generation(alice_token, settings, rates,
                                                                              idle_worker, way):
    rates(**{"generation.generate": "1/min", "token.generate": None})
    client = client_for(alice_token[1])
    settings.LLM_MAX_QUEUE_LENGTH = 0
    assert way.send(client).status_code == 503
    settings.LLM_MAX_QUEUE_LENGTH = 10
    assert way.send(client).status_code == way.accepted
