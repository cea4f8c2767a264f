"""deploy/upgrade.sh's order on real processes: nothing accepted is lost from the queue.

Stop the worker (it finishes the request in hand), keep accepting requests, stop the web
server, migrate, start the web server and then the worker: every request runs, once.
"""

import signal

import pytest

from tests.support.service import Service, poll
from tests.support.standin import Standin

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def standin():
    with Standin.start(load_seconds=0.05, token_seconds=0.02, pull_seconds=0.3) as process:
        yield process


def submit(service, prompt):
    answer = service.post("/generate", {"model": "llama3.2:1b", "prompt": prompt, "wait": False,
                                        "options": {"max_tokens": 25}})  # about half a second each
    assert answer.status_code == 202, answer.text
    return answer.json()["request_id"]


def test_the_upgrade_order_loses_nothing_from_the_queue_and_runs_nothing_twice(standin):
    with Service.start(standin) as service:
        before = [submit(service, f"before {n}") for n in range(6)]
        poll(lambda: service.get("/status").json()["is_processing"], 30, message="a request to run")
        service.worker.send_signal(signal.SIGTERM)  # systemctl stop llm-gateway-worker
        assert service.worker.wait(timeout=60) == 0
        during = [submit(service, f"during {n}") for n in range(3)]  # the web server still accepts
        service.web.send_signal(signal.SIGTERM)  # systemctl stop llm-gateway-web
        assert service.web.wait(timeout=60) == 0
        service.manage("migrate", "--noinput")
        service.start_web()
        service.start_worker()
        results = [service.wait_until_finished(request_id, timeout=120) for request_id in before + during]
        assert [result["status"] for result in results] == ["done"] * 9
        assert sorted(standin.counters()["prompts"].values()) == [1] * 9
