"""A generation task of `manage.py worker` runs requests back to back and lingers for the next one
(llm/queue/linger.py): a request stored meanwhile needs no django-q2 task, and none is lost at the edges."""

import threading

import pytest
from django_q.models import OrmQ

from llm.models import GenerationRequest
from llm.queue import intake, linger, tasks, wakeups
from tests.support.service import poll

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "llama3.2:1b"


@pytest.fixture
def lingering(settings, tmp_path, standin):
    """Tasks that linger, as under `manage.py worker`; wake-ups in a folder of this test's own."""
    settings.LLM_RUN_DIR = tmp_path
    settings.LLM_WORKER_LINGER_SECONDS = 25
    linger.enable()
    yield
    linger.stop()
    linger._stopping = None


@pytest.fixture
def task(lingering):
    """The generation task, run in a thread as a worker thread runs it; `task.result()` once it ended."""
    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(processed=tasks.run_generations()))

    class Task:
        def start(self):
            thread.start()

        def result(self):
            thread.join(timeout=60)
            assert not thread.is_alive(), "the task did not end"
            return outcome["processed"]

    yield Task()
    linger.stop()
    thread.join(timeout=60)


def submit(prompt, tokens=4):
    return intake.submit_generation(None, MODEL, prompt, {"num_predict": tokens})


def listening():
    return any(wakeups.run_dir().glob(f"{linger.CHANNEL}.*"))


def finished(request):
    request.refresh_from_db()
    return request.is_finished


def test_requests_stored_one_after_another_run_in_one_task_and_enqueue_none(task):
    task.start()
    poll(listening, 10, message="the task to listen")
    for n in range(3):
        request = submit(f"one after another {n}")
        poll(lambda: finished(request), 30, message="the request to end")
        assert request.status == GenerationRequest.Status.DONE
    assert not OrmQ.objects.exists()  # no django-q2 task was stored for them
    linger.stop()
    assert task.result() == 3


def test_a_lingering_task_stops_at_once_when_told(task):
    task.start()
    poll(listening, 10, message="the task to listen")
    linger.stop()  # what the worker does on SIGTERM; it lingers 25 s otherwise
    assert task.result() == 0
    assert not listening()


def test_a_task_told_to_stop_ends_after_the_request_in_hand(standin, task):
    standin.configure(token_seconds=0.05)
    for n in range(3):
        submit(f"in line {n}", tokens=20)
    OrmQ.objects.all().delete()  # the tasks their wake-ups stored: this test runs the task itself
    task.start()
    poll(lambda: GenerationRequest.objects.running().exists(), 10, message="a request to start")
    linger.stop()
    assert task.result() == 1
    assert GenerationRequest.objects.filter(status=GenerationRequest.Status.DONE).count() == 1
    assert GenerationRequest.objects.waiting().count() == 2
    assert OrmQ.objects.exists()  # a task for them, taken at the next start


def test_a_request_stored_as_the_linger_ends_is_run_by_its_last_look(lingering, monkeypatch):
    stored = []

    def linger_ends(listener, timeout):
        # The web stores a request and still finds the task listening: it enqueues no task.
        stored.append(submit("just in time"))
        return False  # and the task's time is up

    monkeypatch.setattr(wakeups.Listener, "wait", linger_ends)
    assert tasks.run_generations() == 1
    assert finished(stored[0]) and stored[0].status == GenerationRequest.Status.DONE
    assert not OrmQ.objects.exists()


def test_a_request_stored_once_the_task_stopped_listening_gets_a_task(lingering, monkeypatch):
    stored, close = [], wakeups.Listener.close

    def closing(listener):
        close(listener)
        stored.append(submit("just too late"))  # nobody listens: its web enqueues a task

    monkeypatch.setattr(wakeups.Listener, "wait", lambda listener, timeout: False)
    monkeypatch.setattr(wakeups.Listener, "close", closing)
    assert tasks.run_generations() == 1  # its last look, after closing, finds it too
    assert OrmQ.objects.exists()


def test_a_task_finding_the_engine_held_ends_without_lingering(lingering):
    from llm.engine import residency

    request = submit("held up")
    with residency.engine(wake=False) as holder:
        assert holder is not None
        assert tasks.run_generations() == 0  # its holder wakes a worker when it lets go
    assert not finished(request)
    assert not listening()


def test_without_the_worker_command_a_task_runs_one_request(standin, settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path
    for n in range(2):
        submit(f"one per task {n}")
    assert tasks.run_generations() == 1  # qcluster's processes cannot be told to stop
    assert GenerationRequest.objects.waiting().count() == 1
