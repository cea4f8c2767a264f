"""A generation task that stays: requests back to back, and a moment's wait for the next one.

Under `manage.py worker`, a generation task runs requests while they wait, then lingers up
to LLM_WORKER_LINGER_SECONDS, listening on the `work` channel (llm/queue/wakeups.py). The
web's wake-up (tasks.wake_generation_worker) tells such a task first, and enqueues a
django-q2 task only when none heard it: a client calling again and again then costs no task
per call (no row in django-q2's table, no signing, no acknowledgement, no log lines).

The rule that keeps a request from being missed: a task listens only while it will look at
the queue after whatever it hears. When it stops, it closes its socket first (a web that
wakes it after that finds nobody, and enqueues a task), and then looks once more.

On one node the task listens from start to end, so a request stored while it runs another
is its next one. In a fleet it listens only while idle: a request for another node must
not wait for the one in hand, so then the wake-up enqueues a task for a free thread.

Bounds: a task takes no new request after SHIFT_SECONDS and lingers no more then; it hands
on to a fresh task, keeping well inside django-q2's `timeout` (the longest task + 60 s). One
task per process lingers, the others end as before, so a pull always finds a thread soon.
`stop()` (SIGTERM) ends a task after the request in hand and a lingering one at once.
`manage.py qcluster` runs tasks in processes that cannot be told to stop: there a task runs
one request, as it always did.
"""

import threading
import time

from django.conf import settings
from django.db import close_old_connections

from llm.engine import nodes
from llm.models import GenerationRequest
from llm.queue import runner, wakeups

CHANNEL = "work"
SHIFT_SECONDS = 30

_stopping = None  # a threading.Event once the process can tell its tasks to stop (`enable()`)
_lingering = threading.Semaphore(1)


def enable():
    """Let this process's generation tasks stay (`manage.py worker` calls it, and `stop()` on SIGTERM)."""
    global _stopping
    _stopping = threading.Event()


def enabled():
    return _stopping is not None and settings.LLM_WORKER_LINGER_SECONDS > 0


def stop():
    """Stop taking requests: a task ends after the one in hand, a lingering one at once."""
    if _stopping is not None:
        _stopping.set()
        wakeups.wake_here(CHANNEL)


def pause(seconds):
    """Sleep `seconds`, less when told to stop (`stop()`); True when told. A task that waits
    for something to look at again does not hold up the worker's SIGTERM."""
    if _stopping is None:
        time.sleep(seconds)
        return False
    return _stopping.wait(seconds)


def wake():
    """Tell the tasks that linger that work waits; True when one heard it (no task needed)."""
    return wakeups.notify(CHANNEL) > 0


def run():
    """Run requests while they wait and linger for more; returns how many ran."""
    started, processed, look_again = time.monotonic(), 0, False
    with _Listening(always=not nodes.is_fleet()) as listening:
        while not _stopping.is_set() and time.monotonic() - started < SHIFT_SECONDS:
            outcome = runner.run_next(hand_on=False)
            if outcome == runner.RAN:
                processed += 1
            elif outcome == runner.BUSY or not listening.linger():
                look_again = True
                break
    # Not listening any more: whoever stores work from now on enqueues a task.
    if look_again and not _stopping.is_set():  # letting go of the node wakes a worker, as any holder's does
        return processed + (runner.run_next() == runner.RAN)
    # Stopped, or past its shift: a task takes over what waits (at the next start, once stopped).
    if GenerationRequest.objects.unfinished().exists():
        from llm.queue import tasks  # it imports this module

        tasks.wake_generation_worker()
    return processed


class _Listening:
    """The task's socket on CHANNEL: open all along (`always`), or only while it lingers."""

    def __init__(self, always):
        self.always = always
        self.listener = wakeups.listen(CHANNEL) if always else None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._close()

    def linger(self):
        """Wait up to LLM_WORKER_LINGER_SECONDS for work; True when told of some. One task per
        process lingers: False at once when another does."""
        if not _lingering.acquire(blocking=False):
            return False
        try:
            if self.listener is None:
                self.listener = wakeups.listen(CHANNEL)
            heard = self.listener.wait(settings.LLM_WORKER_LINGER_SECONDS)
        finally:
            _lingering.release()
        if not self.always:
            self._close()
        close_old_connections()  # the task may last: what django-q2 does before each task
        return heard and not _stopping.is_set()

    def _close(self):
        if self.listener is not None:
            self.listener.close()
            self.listener = None
