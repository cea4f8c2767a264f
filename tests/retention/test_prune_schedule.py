"""The real worker prunes on its schedule, and the processes clear dead sockets as they start."""

import socket
import textwrap

import pytest

from tests.support.service import Service, poll
from tests.support.standin import Standin

pytestmark = pytest.mark.e2e

# django-q2's scheduler looks at its schedules every 30 s; the prune's runs every minute here.
DEADLINE = 240

SEED = """
from datetime import timedelta
from django.utils import timezone
from llm.models import GenerationRequest
now = timezone.now()
for name, days in (("{tag}_old", 100), ("{tag}_aging", 10), ("{tag}_new", 0)):
    when = now - timedelta(days=days)
    GenerationRequest.objects.create(request_id="req_" + name, model="llama3.2:1b", prompt="the prompt",
                                     response="the response", status="done", created_at=when, finished_at=when)
GenerationRequest.objects.create(request_id="req_{tag}_waiting", model="llama3.2:1b", prompt="the prompt",
                                 created_at=now - timedelta(days=100))
"""

SHOW = """
from llm.models import GenerationRequest
for request_id, prompt in GenerationRequest.objects.order_by("request_id").values_list("request_id", "prompt"):
    print(request_id, prompt or "-")
"""


@pytest.fixture(scope="module")
def standin():
    with Standin.start(load_seconds=0.05, token_seconds=0.002) as process:
        # Nothing of ours should ever run: the seeded waiting request names a model that is not there.
        process.configure(installed=[])
        yield process


def seed(service, tag):
    service.manage("shell", "-c", SEED.format(tag=tag))


def rows(service):
    out = service.manage("shell", "-c", SHOW)
    return dict(line.split(" ", 1) for line in out.splitlines() if line.startswith("req_"))


def dead_socket(folder):
    folder.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(folder / "request-req_gone.0123456789"))
    sock.close()
    return folder / "request-req_gone.0123456789"


def test_the_worker_prunes_on_its_schedule_and_never_touches_waiting_work(standin):
    env = {"LLM_PRUNE_MINUTES": "1", "LLM_KEEP_REQUESTS_DAYS": "90", "LLM_KEEP_REQUEST_TEXT_DAYS": "7"}
    stale = []

    def before_start(service):
        seed(service, "first")
        stale.append(dead_socket(service.folder / "run"))

    with Service.start(standin, env=env, before_start=before_start) as service:
        try:
            poll(lambda: not stale[0].exists(), 60, message="the dead socket to go")
            expected = {"req_first_aging": "-", "req_first_new": "the prompt", "req_first_waiting": "the prompt"}
            # Run by django-q2's scheduler from the Schedule row (nothing of ours prunes at start); its
            # repeats are django-q2's own, and waiting for a second run would cost each leg a minute.
            poll(lambda: rows(service) == expected, DEADLINE, interval=2, message="the scheduled prune")
        except AssertionError:
            print(textwrap.indent(service.logs(), "  "))
            raise
