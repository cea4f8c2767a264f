"""Task functions for the django-q2 cluster, enqueued by dotted path.

A task carries no request: it only wakes a worker, which then asks our own
tables what to do (llm/queue/policy.py decides the order).
"""

import time

from django.conf import settings
from django.utils import timezone
from django_q.tasks import async_task

from llm.engine import nodes, pulls
from llm.queue import broker, linger, runner
from llm.models import GenerationRequest, ModelPull


def run_generations():
    """Run requests; under `manage.py worker`, back to back and lingering for more (llm/queue/linger.py).

    Elsewhere (`manage.py qcluster`, whose processes cannot be told to stop) one request a
    task: letting go of the engine hands on to a fresh task if more wait, which keeps every
    task well inside django-q2's timeout and lets a SIGTERM'd worker stop after the request
    in hand instead of draining the whole queue first.
    """
    processed = linger.run() if linger.enabled() else runner.drain(max_iterations=1)
    if not processed and nodes.is_fleet():
        _wait_for_a_node_to_come_back()
    return processed


def _wait_for_a_node_to_come_back():
    """Work waits and a node is down: ask it again when its pause is over, then look again.

    This keeps one worker process asking (the cluster has one more than the nodes),
    so a node that comes back rejoins within LLM_NODE_RECHECK_MAX_SECONDS even when
    no new request arrives to wake the worker."""
    down = [node for node in nodes.all_nodes() if node.in_service and not node.reachable]
    if not down or not GenerationRequest.objects.waiting().exists():
        return
    now = timezone.now()
    soonest = min((node.recheck_at or now) for node in down)
    time.sleep(min(max((soonest - now).total_seconds(), 0.0), settings.LLM_NODE_RECHECK_MAX_SECONDS))
    nodes.check_due()
    wake_generation_worker()


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
