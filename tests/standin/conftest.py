"""Fixtures for the stand-in's own tests: one stand-in per module, reset to
its start-up state before every test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:  # so `pytest` run from anywhere finds tests.support
    sys.path.insert(0, ROOT)

from tests.support.standin import Standin  # noqa: E402

FAST = {"load_seconds": 0.05, "token_seconds": 0.005, "pull_seconds": 0.3}


@pytest.fixture(scope="module")
def standin():
    server = Standin.start(**FAST)
    yield server
    server.stop()
    if not server.running:
        server.cleanup()


@pytest.fixture(autouse=True)
def fresh(request):
    """Each test starts with no model resident, default settings and zero counters."""
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").reset(state=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the tail of the stand-in's log to a failing test's report."""
    report = yield
    server = getattr(item, "funcargs", {}).get("standin")
    if report.failed and report.when == "call" and isinstance(server, Standin):
        report.sections.append(("stand-in log (tail)", server.log_text()[-4000:]))
    return report


@pytest.fixture
def http():
    with requests.Session() as session:
        session.trust_env = False  # never a proxy for 127.0.0.1
        yield session
