"""The woken ORM broker (llm/queue/broker.py): tasks stored wake the pusher, and polling remains the safety net."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import OrmQ

from llm.queue import tasks, wakeups
from llm.queue.broker import WakingORM, task_waiting

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def run_dir(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path / "run"
    return settings.LLM_RUN_DIR


@pytest.fixture
def poll_seconds(monkeypatch):
    """How long a dequeue that finds nothing waits for a wake-up; long unless a test shortens it."""
    monkeypatch.setattr(Conf, "POLL", 30.0)
    return monkeypatch


def in_thread(function):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", _closing(function)), daemon=True)
    thread.start()
    return thread, result


def _closing(function):
    try:
        return function()
    finally:
        connection.close()


def wait_until(condition, timeout=10, message="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {message}")
        time.sleep(0.01)


def listening(run_dir, broker):
    return lambda: any(run_dir.glob(f"{broker.channel()}.*"))


def test_the_configured_broker_is_the_woken_orm():
    assert isinstance(get_broker(), WakingORM)


def test_enqueue_stores_the_task_and_wakes_the_listeners(run_dir):
    broker = WakingORM(list_key="test")
    with wakeups.listen(broker.channel()) as listener:
        task_id = broker.enqueue("payload")
        assert listener.wait(5) is True
    assert OrmQ.objects.get(pk=task_id).payload == "payload"


def test_enqueue_inside_a_transaction_wakes_only_once_it_commits(run_dir):
    broker = WakingORM(list_key="test")
    with wakeups.listen(broker.channel()) as listener:
        with transaction.atomic():
            broker.enqueue("payload")
            assert listener.wait(0) is False
        assert listener.wait(5) is True


def test_dequeue_hands_out_a_stored_task_once(run_dir, poll_seconds):
    broker = WakingORM(list_key="test")
    task_id = broker.enqueue("payload")
    assert broker.dequeue() == [(task_id, "payload")]
    poll_seconds.setattr(Conf, "POLL", 0.01)
    assert broker.dequeue() is None


def test_an_idle_dequeue_returns_the_task_as_soon_as_it_is_stored(run_dir, poll_seconds):
    pusher = WakingORM(list_key="test")
    thread, result = in_thread(pusher.dequeue)
    wait_until(listening(run_dir, pusher), message="the pusher to listen")
    started = time.monotonic()
    task_id = WakingORM(list_key="test").enqueue("payload")
    thread.join(timeout=10)
    assert result["value"] == [(task_id, "payload")]
    assert time.monotonic() - started < Conf.POLL  # woken, not polled


def test_a_task_stored_without_a_wake_up_is_found_at_the_next_poll(run_dir, poll_seconds):
    poll_seconds.setattr(Conf, "POLL", 0.05)
    pusher = WakingORM(list_key="test")
    found = []

    def pusher_loop():
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            found.extend(pusher.dequeue() or [])

    thread, _ = in_thread(pusher_loop)
    wait_until(listening(run_dir, pusher), message="the pusher to listen")
    lost = OrmQ.objects.create(key="test", payload="lost wake-up", lock=timezone.now())  # no notify
    thread.join(timeout=15)
    assert found == [(lost.pk, "lost wake-up")]


def test_every_pusher_is_woken_and_only_one_takes_the_task(run_dir, poll_seconds):
    poll_seconds.setattr(Conf, "POLL", 0.05)
    pushers = [WakingORM(list_key="test"), WakingORM(list_key="test")]
    listeners = [pusher._listener() for pusher in pushers]
    task_id = WakingORM(list_key="test").enqueue("payload")
    assert [listener.wait(5) for listener in listeners] == [True, True]
    taken = [pusher.dequeue() for pusher in pushers]
    assert taken == [[(task_id, "payload")], None]


def test_other_queues_are_not_woken(run_dir):
    with wakeups.listen(WakingORM(list_key="other").channel()) as listener:
        WakingORM(list_key="test").enqueue("payload")
        assert listener.wait(0.05) is False


def test_a_wake_up_is_skipped_while_another_still_waits_for_a_pusher(run_dir, poll_seconds):
    tasks.wake_generation_worker()
    tasks.wake_generation_worker()
    assert OrmQ.objects.count() == 1
    assert task_waiting("llm.queue.tasks.run_generations") is True
    WakingORM().dequeue()  # a pusher takes it: the next wake-up needs a task of its own
    assert task_waiting("llm.queue.tasks.run_generations") is False
    tasks.wake_generation_worker()
    assert OrmQ.objects.count() == 2


def test_a_waiting_task_for_another_function_does_not_count(run_dir):
    tasks.wake_pull_worker()
    assert task_waiting("llm.queue.tasks.run_pulls") is True
    assert task_waiting("llm.queue.tasks.run_generations") is False
