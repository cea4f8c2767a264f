"""Named fixtures for the whole suite.

Unit tests talk to the API through DRF's test client, with a real Ollama
stand-in process behind it; `inline_worker` runs the worker's task in the test
itself. End-to-end tests (tests/e2e) start the real processes instead.
"""

import os
import signal
import threading
from pathlib import Path

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from llm.doors.authentication import verified
from llm.queue import runner, tasks
from llm.models import ApiToken
from tests.support.standin import Standin


@pytest.fixture(scope="session")
def standin_process():
    with Standin.start(load_seconds=0.05, token_seconds=0.002, pull_seconds=0.3) as process:
        yield process


@pytest.fixture
def standin(standin_process, settings):
    """The stand-in, reset, with the gateway pointed at it."""
    standin_process.reset(state=True)
    standin_process.configure(faults={}, load_seconds=0.05, token_seconds=0.002, pull_seconds=0.3, ram_mb=4096)
    settings.OLLAMA_HOST = standin_process.url
    return standin_process


@pytest.fixture(scope="session")
def second_standin_process():
    with Standin.start(load_seconds=0.05, token_seconds=0.002, pull_seconds=0.3) as process:
        yield process


@pytest.fixture
def fleet(standin, second_standin_process, settings):
    """Two nodes (LLM_NODES): a (the suite's stand-in) and b, a second one; {name: Standin}."""
    second_standin = second_standin_process
    second_standin.reset(state=True)
    second_standin.configure(faults={}, load_seconds=0.05, token_seconds=0.002, pull_seconds=0.3, ram_mb=4096)
    settings.LLM_NODES = {"a": standin.url, "b": second_standin.url}
    return {"a": standin, "b": second_standin}


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="wonderland")


@pytest.fixture
def alice_token(alice):
    """Alice's token and its raw key."""
    return ApiToken.issue("alice's script", owner=alice)


@pytest.fixture
def api(alice_token):
    """An API client that sends Alice's key."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=alice_token[1])
    return client


@pytest.fixture
def admin_token(db):
    """A token with the admin role (pull, switch, work the queue) and its raw key."""
    token, raw = ApiToken.issue("ops script")
    ApiToken.objects.filter(pk=token.pk).update(role=ApiToken.Role.ADMIN)
    token.refresh_from_db()
    return token, raw


@pytest.fixture
def admin_api(admin_token):
    """An API client that sends the admin token."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=admin_token[1])
    return client


@pytest.fixture
def anonymous_api():
    return APIClient()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Throttle counts live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_verified_tokens():
    """The tokens a web process trusts for a while (llm/doors/authentication.py): each test
    starts with none, as its database does (a test's rows are rolled back, which no signal tells)."""
    verified.clear()
    yield
    verified.clear()


@pytest.fixture
def inline_worker(monkeypatch):
    """Run queued work in the test's own thread, as the worker would, when woken.

    A wake-up while it drains (the engine let go between two requests) changes
    nothing: the drain in hand looks at the queue again before it returns.
    """
    draining = threading.local()

    def drain():
        if getattr(draining, "now", False):
            return
        draining.now = True
        try:
            runner.drain()
        finally:
            draining.now = False

    monkeypatch.setattr(tasks, "wake_generation_worker", drain)
    monkeypatch.setattr(tasks, "wake_pull_worker", lambda: tasks.run_pulls())


@pytest.fixture
def idle_worker(monkeypatch):
    """A worker that never wakes: requests stay queued."""
    monkeypatch.setattr(tasks, "wake_generation_worker", lambda: None)
    monkeypatch.setattr(tasks, "wake_pull_worker", lambda: None)


def pytest_configure(config):
    """Passwords hashed in a microsecond, not half a second (tests/support/hashers.py).

    And Ctrl-C reaches the processes tests start: a shell without job control starts
    a background command (bin/test's second leg) with SIGINT ignored, which every
    process started from it would inherit (bin/serve, the worker), so tests of what
    Ctrl-C does would see nothing happen. A handled signal is reset at exec, an
    ignored one is not: handle it here.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["tests.support.hashers.OneIterationPBKDF2PasswordHasher", *settings.PASSWORD_HASHERS]


DATABASE_FREE = Path(__file__).parent / "standin"  # the stand-in's own tests: an Ollama, no database


def pytest_collection_modifyitems(config, items):
    """bin/test runs the suite on SQLite and on PostgreSQL side by side; tests that touch no
    database give the same answer on both, so its PostgreSQL leg (BIN_TEST_LEG=postgresql) leaves them
    to the SQLite one."""
    if os.environ.get("BIN_TEST_LEG") != "postgresql":
        return
    once = [item for item in items if item.path.is_relative_to(DATABASE_FREE)]
    if once:
        config.hook.pytest_deselected(items=once)
        items[:] = [item for item in items if not item.path.is_relative_to(DATABASE_FREE)]


def pytest_sessionfinish(session):
    """pytest-django deletes the SQLite test database but not the WAL files beside it."""
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for suffix in ("-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each test's outcome on it, for fixtures that print logs when it failed."""
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture
def rates(settings):
    """Set throttle rates for one test: rates(**{"generation.generate": "2/min"})."""

    def set_rates(**changes):
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**current, **changes}}

    return set_rates
