"""`manage.py runserver`, as a new user starts it, serves the same ASGI application as the
Procfile: streams go out as they are made, and a client that leaves cancels its request."""

import json
import os
import signal
import sys

import pytest
import requests

from tests.support.service import API, Service, poll

pytestmark = pytest.mark.e2e


class RunserverService(Service):
    """The service with Django's `runserver` (with its reloader, as typed by hand) in place of gunicorn."""

    def start_web(self):
        self.web = self._spawn("web", [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}"])
        poll(self._answers, 60, message=f"runserver at {self.url}\n{self.logs()}")

    def stop(self):
        web = self.web
        super().stop()
        if web is not None:  # the reloader's child is its own process: end the whole group
            try:
                os.killpg(web.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def service(e2e_standin):
    with RunserverService.start(e2e_standin) as running:
        yield running


def test_runserver_streams_the_first_words_while_the_generation_still_runs(service, standin):
    standin.configure(token_seconds=0.05)  # 400 tokens: 20 s if left alone
    body = {"model": "llama3.2:1b", "prompt": "stream through runserver", "stream": True, "options": {"max_tokens": 400}}
    with requests.post(service.url + API + "/generate", json=body, headers={"X-API-Key": service.token},
                       stream=True, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines = (json.loads(raw) for raw in response.iter_lines() if raw)
        first_text = next(line for line in lines if line.get("response"))
        request_id = first_text["request_id"]
        assert service.get(f"/requests/{request_id}").json()["status"] == "running"
    # The client went away mid-stream: its request is cancelled and the stand-in stops generating.
    poll(lambda: service.get(f"/requests/{request_id}").json()["status"] == "cancelled", 30,
         message="the request to be cancelled")
    poll(lambda: standin.counters()["active_generations"] == 0, 30, message="the stand-in to stop generating")


def test_runserver_answers_the_api_and_serves_the_dashboards_static_files(service, standin):
    reply = service.post("/generate", {"model": "llama3.2:1b", "prompt": "plain wait", "options": {"max_tokens": 3}})
    assert reply.status_code == 200 and reply.json()["success"] is True
    assert requests.get(service.url + "/static/llm/dashboard.css", timeout=10).status_code == 200
    missing = service.get("/no-such-endpoint")
    assert missing.status_code == 404 and missing.json()["error"]
