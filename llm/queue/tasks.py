"""Task functions for the django-q2 cluster, enqueued by dotted path.

A task carries no request: it only wakes a worker, which then asks our own
tables what to do (llm/queue/policy.py decides the order).
"""

import threading

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from llm.engine import leases, nodes, pulls
from llm.queue import broker, linger, runner
from llm.models import GenerationRequest, Lease, ModelPull


def run_generations():
    """Run requests; under `manage.py worker`, back to back and lingering for more (llm/queue/linger.py).

    Elsewhere (`manage.py qcluster`, whose processes cannot be told to stop) one request a
    task: letting go of the engine hands on to a fresh task if more wait, which keeps every
    task well inside django-q2's timeout and lets a SIGTERM'd worker stop after the request
    in hand instead of draining the whole queue first.
    """
    processed = linger.run() if linger.enabled() else runner.drain(max_iterations=1)
    if nodes.is_fleet():
        _wait_for_a_node_to_free_up(down_too=not processed)
    return processed


def _wait_for_a_node_to_free_up(down_too=True):
    """Work waits that no node could take here: look again when a node may free up that
    nobody will tell us of, then wake the worker. One task a process waits so.

    - A node that is down (`down_too`): when its pause is over it is asked again, so a node
      that comes back rejoins within LLM_NODE_RECHECK_MAX_SECONDS even when no new
      request arrives to wake the worker.
    - A node whose engine lease is held from another host: when the lease runs out. Its
      holder there, alive, renews it and wakes that host's workers when it lets go, not this
      host's (so we look about every LLM_LEASE_SECONDS while it runs); dead, it never lets go,
      and a host that died mid-run is taken over within LLM_LEASE_SECONDS, not at the next
      safety net (LLM_SAFETY_NET_MINUTES)."""
    if not _waiting_for_a_node.acquire(blocking=False):
        return
    try:
        if not GenerationRequest.objects.waiting().exists():  # a task's usual end: one statement
            return
        now = timezone.now()
        in_service = [node for node in nodes.all_nodes() if node.in_service]
        down = [node for node in in_service if not node.reachable] if down_too else []
        when = [node.recheck_at or now for node in down]
        if held := leases.runs_out_elsewhere([Lease.engine(node.name) for node in in_service if node.reachable]):
            when.append(held)
        if not when:
            return
        pause = min(when) - now
        if linger.pause(min(max(pause.total_seconds(), 0.0) + LEASE_MARGIN_SECONDS,
                            max(settings.LLM_NODE_RECHECK_MAX_SECONDS, settings.LLM_LEASE_SECONDS))):
            return  # told to stop: the next start looks at the queue
        if down:
            nodes.check_due()
    finally:
        _waiting_for_a_node.release()
    wake_generation_worker()


_waiting_for_a_node = threading.Lock()
LEASE_MARGIN_SECONDS = 0.2  # past the lease's end: the clocks of two hosts need not agree to the millisecond


def run_pulls():
    """Run one pull, then hand on to a fresh task if more wait: as for generations,
    a SIGTERM'd worker stops after the pull in hand instead of starting the next
    one while it shuts down."""
    processed = pulls.drain(max_pulls=1)
    if processed and ModelPull.objects.waiting().exists():
        wake_pull_worker()
    return processed


def wake_generation_worker():
    # A task lingering for work looks at the queue once told: no new task needed.
    if linger.wake():
        return
    # One wake-up waiting is enough: the worker it wakes sees this request too.
    # Under a burst this spares a task per request, in the web and the worker.
    if not broker.task_waiting("llm.queue.tasks.run_generations"):
        async_task("llm.queue.tasks.run_generations", save=False)


def engine_released():
    """Whoever held the engine let go of it (llm/engine/residency.py): wake the worker if work waits.

    A request stored while the engine was held found it taken and its task
    returned at once, whoever the holder was; running ones count too, as their
    worker may have died (the next holder recovers them).
    """
    if GenerationRequest.objects.unfinished().exists():
        wake_generation_worker()


def wake_pull_worker():
    async_task("llm.queue.tasks.run_pulls", save=False)


def prune():
    """Old finished work goes, as the retention settings say (llm/retention.py); on a schedule."""
    from llm import retention

    return retention.prune()
