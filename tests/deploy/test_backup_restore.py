"""A backup taken while the service is busy restores to a service that has every finished request.

Real processes (stand-in, gunicorn, qcluster), on SQLite or on PostgreSQL as DATABASE_URL says.
"""

import subprocess
import sys
import threading

import pytest

from tests.support.service import REPO_ROOT, Service, poll, print_logs_after_a_failure
from tests.support.standin import Standin

pytestmark = pytest.mark.e2e

NO_RATE_LIMITS = {name: "off" for name in ("LLM_RATE_LIMIT", "LLM_GENERATION_RATE_LIMIT", "LLM_ADMIN_RATE_LIMIT",
                                            "LLM_ADMIN_GENERATION_RATE_LIMIT")}
# The backup holds the engine's lease of a worker that still runs (the restore's holder looks alive):
# the restored worker takes the queue over once that lease expires, in 5 s here rather than 30.
ENV = {**NO_RATE_LIMITS, "LLM_LEASE_SECONDS": "5"}


@pytest.fixture(scope="module")
def standin():
    with Standin.start(load_seconds=0.05, token_seconds=0.002, pull_seconds=0.3) as process:
        yield process


@pytest.fixture(scope="module")
def service(standin):
    with Service.start(standin, env=ENV) as running:
        yield running


@pytest.fixture(autouse=True)
def _print_logs_on_failure(request, service):
    yield from print_logs_after_a_failure(request, service)


class Burst:
    """A few clients that each send one generation after another until stopped; keeps the answers."""

    clients = 4

    def __init__(self, service):
        self.service, self.done, self.answered = service, {}, 0
        self.stopped, self.errors = threading.Event(), []
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(self.clients)]

    def _run(self, client):
        n = 0
        while not self.stopped.is_set():
            answer = self.service.post("/generate", {"model": ["llama3.2:1b", "phi4:mini"][n % 2],
                                                     "prompt": f"burst {client}.{n}", "wait": True,
                                                     "options": {"max_tokens": 8}})
            if answer.status_code != 200:
                self.errors.append(answer.text)
                return
            self.done[answer.json()["request_id"]] = answer.json()
            self.answered += 1
            n += 1

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=120)


def test_a_backup_taken_during_a_burst_restores_every_request_finished_before_it(service, standin, tmp_path):
    with Burst(service) as burst:
        poll(lambda: burst.answered >= 10, 60, message="ten requests to finish")
        done_before = dict(burst.done)
        answered_before = burst.answered
        backup = service.manage("backup_db", str(tmp_path / "backup")).strip()
        assert burst.answered > answered_before, "requests were answered while the backup ran"
    assert burst.errors == []

    restored = Service(standin, env=ENV, token=service.token)
    try:
        restored.manage("restore_db", backup)
        restored.start_web()
        restored.start_worker()
        for request_id, before in done_before.items():
            after = restored.get(f"/requests/{request_id}").json()
            assert after["status"] == "done", after
            assert after["response"] == before["response"] and after["model"] == before["model"]
        # The restored service answers, and its worker runs new work (after what the backup had queued).
        assert restored.get("/status").status_code == 200
        answer = restored.post("/generate", {"model": "llama3.2:1b", "prompt": "after the restore", "wait": True})
        assert answer.status_code == 200 and answer.json()["done"] is True, answer.text
    finally:
        restored.stop()


def test_a_restore_is_refused_while_the_service_runs(service, tmp_path):
    backup = service.manage("backup_db", str(tmp_path / "backup")).strip()
    refused = subprocess.run([sys.executable, "manage.py", "restore_db", backup], cwd=REPO_ROOT,
                             env=service.env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "the web server and the worker" in refused.stderr and "stop" in refused.stderr
