"""manage.py worker: django-q2's cluster in one process instead of six; the Procfile's worker.

`manage.py qcluster` runs six Django processes: itself (it only waits), the
sentinel (it watches the others and runs the scheduler), the pusher (it takes
tasks from the broker), the monitor (it stores their results) and two workers.
Each holds 16-23 MB of its own (docs/benchmarks.md, "Footprint"). This command
runs the same django-q2 code with the sentinel in its own process and the
others as its threads: 55 MB instead of 120.

Threads are enough here because every task waits on the network, not the CPU:
a generation relays Ollama's stream, a pull relays its progress, the pusher
waits on the broker's wake-up socket and the monitor on the result queue; the
model's own work happens in Ollama. The two worker threads still keep pulls
apart from generations: a pull runs in one while a generation runs in the other.

What a thread cannot do, and why it does not matter here:
- be killed at django-q2's task timeout: our tasks end themselves well before it
  (LLM_GENERATION_TIMEOUT, LLM_PULL_TIMEOUT, a timeout on every call to Ollama),
  so django-q2's is a last resort; a thread past it is logged and left to end;
- die alone: a crash of the process stops every thread, and the tasks in hand
  are taken up again at the next start, as after a SIGKILL (llm/queue/runner.py).

It also runs every system check but the URLconf's (the URLconf would load the
API's views, its schema generator, DRF's test client, jinja2 and PyYAML into a
process that serves no URL), and freezes what is loaded at start out of the
garbage collector's passes.

SIGTERM or Ctrl-C stops it as qcluster stops: the pusher takes nothing more,
each worker finishes the task in hand, the monitor stores the last results. A
generation task here runs requests back to back and lingers for the next one
(llm/queue/linger.py): told to stop, it ends after the request in hand.
`manage.py qcluster` still works the same, in six processes, with the full checks.
"""

import gc
import logging
import os
import queue
import signal
import threading
import uuid
from multiprocessing import Event

from django import db
from django.conf import settings
from django.core import checks
from django.core.management.base import CommandError
from django_q.cluster import Sentinel
from django_q.management.commands import qcluster
from django_q.worker import worker

from llm.queue import linger, wakeups

log = logging.getLogger(__name__)


class Command(qcluster.Command):
    help = "Start the worker: django-q2's cluster in one process, without loading the URLconf."
    requires_system_checks = sorted(checks.registry.registry.tags_available() - {checks.Tags.urls})

    def handle(self, *args, **options):
        settings.SECRET_KEY  # noqa: B018 - signing needs it: fail now, as qcluster does
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        stop, started = Event(), Event()
        sentinel = ThreadedSentinel(stop, started, uuid.uuid4(), start=False)
        if options.get("run_once"):
            stop.set()  # the guard's loop runs once, then stops the cluster
        linger.enable()  # generation tasks run requests back to back: this command can stop them
        gc.collect()
        gc.freeze()
        # The sentinel guards from a thread; this one waits for SIGTERM or Ctrl-C, blocked in
        # every thread so it reaches only this wait (a handler setting `stop` while this thread
        # waits on it would deadlock: a multiprocessing Event is not safe in a signal handler).
        for stopping in STOP_SIGNALS:
            signal.signal(stopping, signal.SIG_DFL)  # the sentinel's __init__ ignored Ctrl-C
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        guard = threading.Thread(target=_guard, args=(sentinel,), name="sentinel")
        guard.start()
        signal.sigwait(STOP_SIGNALS)
        sentinel.told_to_stop = True
        linger.stop()
        stop.set()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # a second one kills it at once
        guard.join()
        if sentinel.failed:
            raise CommandError("The cluster stopped: see the log above")


STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def _guard(sentinel):
    try:
        sentinel.start()
    except BaseException:
        sentinel.failed = True
        log.exception("The cluster's sentinel failed")
    finally:
        if not sentinel.told_to_stop:  # it ended by itself: end the main thread's wait too
            os.kill(os.getpid(), signal.SIGTERM)


class ThreadedSentinel(Sentinel):
    """django-q2's sentinel, with its pusher, monitor and workers as threads of its own process."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent_pid = None  # no qcluster above it: its status is filed under its own pid
        # Between threads, a plain queue: django-q2's pickle every task through a pipe, with a feeder thread each.
        self.task_queue, self.result_queue = ThreadQueue(), ThreadQueue()
        self.failed = self.told_to_stop = False

    def spawn_process(self, target, *args):
        thread = threading.Thread(
            target=_then_close_connections, args=(target, *args), daemon=True,
            name=f"{target.__name__}-{uuid.uuid4().hex[:6]}",
        )
        thread.pid = self.pid  # the cluster's status lists each one's pid
        thread.terminate = lambda: log.critical("%s ran past its timeout; it is left to end", thread.name)
        if target is worker:
            thread.timer = args[2]  # the guard reads it to tell idle, busy and timed out
            self.pool.append(thread)
        thread.start()
        return thread

    def stop(self):
        """Stop as django-q2's sentinel does, without first waiting out the pusher's sleep:
        between two looks at the table it sleeps on the broker's wake-up for up to
        Q_CLUSTER["poll"] seconds (5), and the sentinel waits for it before anything else."""
        self.event_out.set()
        wakeups.wake_here(self.broker.channel())
        super().stop()


class ThreadQueue(queue.SimpleQueue):
    """The part of multiprocessing.Queue the sentinel uses, for threads."""

    def close(self):
        pass

    def join_thread(self):
        pass


def _then_close_connections(target, *args):
    try:
        target(*args)
    finally:
        db.connections.close_all()  # this thread's own: a worker ends after `recycle` tasks
