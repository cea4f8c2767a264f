"""Two hundred clients at once, each waiting for its answer or streaming it, through the real
processes (gunicorn with uvicorn's worker, the worker, the stand-in): native wait and stream,
/v1 streamed and not, /ollama/ streamed, two tokens each using all of their 100 open waits.

While all of them wait (a test holds the engine's lease, so the queue holds every one), /status answers,
and the web server holds no thread per client. Then every client gets its whole answer, none
is lost, and the stand-in never ran two generations at once.
"""

import asyncio
import threading

import pytest

from tests.support.service import Service, poll
from tests.support.waiters import KINDS, HeldQueue, crowd, threads_of_session

pytestmark = pytest.mark.e2e

CLIENTS = 200
TOKENS = 2  # 100 clients each: the default LLM_MAX_OPEN_WAITS_PER_TOKEN, all of it
ENV = {
    "LLM_MAX_QUEUE_LENGTH": "1000",
    "LLM_GENERATE_WAIT_SECONDS": "900",
    **{name: "off" for name in ("LLM_RATE_LIMIT", "LLM_GENERATION_RATE_LIMIT")},
}


@pytest.fixture(scope="module")
def service(e2e_standin):
    with Service.start(e2e_standin, env=ENV) as running:
        yield running


@pytest.fixture
def tokens(service):
    return [service.manage("create_token", f"crowd {n}").strip().splitlines()[-1] for n in range(TOKENS)]


@pytest.fixture
def held_queue(service):
    held = HeldQueue(service)
    yield held
    held.let_go()


def test_two_hundred_clients_wait_and_stream_at_once_without_a_thread_each(service, standin, tokens, held_queue):
    outcomes = []
    clients = threading.Thread(target=lambda: outcomes.extend(asyncio.run(crowd(service.url, tokens, CLIENTS))))
    clients.start()
    try:
        poll(lambda: service.get("/status", timeout=30).json()["queue_length"] == CLIENTS, 120,
             message=f"all {CLIENTS} clients stored\n{service.logs()}")
        status = [service.get("/status", timeout=30).status_code for _ in range(10)]
        threads = threads_of_session(service.web.pid)
        held_queue.let_go()
    finally:
        held_queue.let_go()
        clients.join(600)
    assert status == [200] * 10, "/status answers while they all wait"
    assert threads < CLIENTS // 2, f"{threads} threads in the web server for {CLIENTS} waiting clients"
    assert len(outcomes) == CLIENTS
    incomplete = [outcome for outcome in outcomes if not outcome.complete]
    assert not incomplete, incomplete[:5]
    assert {outcome.kind for outcome in outcomes} == set(KINDS)
    assert all(outcome.queued_lines for outcome in outcomes if outcome.kind == "native stream"), "told they wait"
    assert standin.counters()["max_concurrent_generations"] == 1
    finished = service.manage("shell", "-c", "from llm.models import GenerationRequest as G; "
                              "print(G.objects.filter(status='done').count(), G.objects.count())")
    assert finished.strip().splitlines()[-1].split() == [str(CLIENTS), str(CLIENTS)], "none lost, none doubled"
