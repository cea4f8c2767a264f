"""Downloading models in the background, one at a time, with progress in the database.

Pulls have their own lease per node, so a pull runs beside a generation (on
another worker process) and never holds one up. A pull goes to every node by
default (llm/rules/actions.py), or to one.
"""

import logging
import time

from django.conf import settings

from llm import catalog
from llm.engine import fit, leases, nodes
from llm.models import Lease, ModelPull
from llm.engine.ollama import OllamaError

log = logging.getLogger(__name__)

# Progress lines arrive many times a second; the database hears of them this often.
PROGRESS_SAVE_SECONDS = 0.25


def request_pull(name, token=None, node=None):
    """The pull for catalog model `name` to `node` (None: the first): one already on its way, or a new one."""
    entry = catalog.get(name)
    node = node or nodes.first()
    stored = "" if node == nodes.first() and not nodes.is_fleet() else node
    pending = ModelPull.objects.unfinished().filter(model=entry.name, node=stored).order_by("created_at").first()
    return pending or ModelPull.objects.create(model=entry.name, tag=entry.tag, node=stored, requested_by=token)


def drain(max_pulls: int | None = None) -> int:
    """Run waiting pulls until none is left (or `max_pulls` ran); returns at once if
    other processes are pulling to every node that has pulls waiting. One pull at a
    time per node; in a fleet, claiming one wakes another process for the other nodes."""
    processed = 0
    while ModelPull.objects.unfinished().exists() and (max_pulls is None or processed < max_pulls):
        if not _pull_one():
            break
        processed += 1
    return processed


def _pull_one():
    first = nodes.first()
    for node in nodes.names():
        stored = ("", node) if node == first else (node,)
        if not ModelPull.objects.unfinished().filter(node__in=stored).exists():
            continue
        with leases.hold(Lease.pulls(node)) as holder:
            if holder is None:
                continue
            _recover_orphans(stored)
            pull = ModelPull.objects.waiting().filter(node__in=stored).order_by("created_at", "pk").first()
            if pull is None or not pull.claim():
                continue
            if nodes.is_fleet() and ModelPull.objects.waiting().exclude(node__in=stored).exists():
                from llm.queue import tasks  # it imports this module

                tasks.wake_pull_worker()  # another process for the other nodes
            execute(pull)
            return True
    return False


def _recover_orphans(stored):
    """Pulls to this node left running by a worker that died go back in line: Ollama resumes
    a pull from the layers it already has. Call it only while holding the node's pull lease."""
    for orphan in ModelPull.objects.filter(status=ModelPull.Status.RUNNING, node__in=stored):
        log.warning("Resuming the pull of %s: its worker stopped", orphan.model)
        ModelPull.objects.filter(pk=orphan.pk, status=ModelPull.Status.RUNNING).update(
            status=ModelPull.Status.QUEUED, detail="resuming after an interruption"
        )


def execute(pull):
    node = pull.node or nodes.first()
    log.info("Pulling %s (%s) to node %s", pull.model, pull.tag, node)
    ollama = nodes.ollama(node)
    deadline = time.monotonic() + settings.LLM_PULL_TIMEOUT
    saved_at = 0.0
    try:
        for line in ollama.pull(pull.tag):
            known = pull.total_bytes
            pull.record(line)
            if pull.total_bytes > known and fit.is_local(ollama.host):
                fit.check_disk(pull.model, pull.total_bytes - pull.completed_bytes)
            now = time.monotonic()
            if now - saved_at >= PROGRESS_SAVE_SECONDS:
                if not pull.save_progress():
                    log.info("Pull of %s was cancelled", pull.model)
                    return  # closing the stream makes Ollama stop the download
                saved_at = now
            if now > deadline:
                raise OllamaError(f"Pull ran past LLM_PULL_TIMEOUT ({settings.LLM_PULL_TIMEOUT}s)")
            if line.get("status") == "success":
                pull.finish()
                nodes.check(nodes.get(node))  # what it has installed now
                return
        raise OllamaError("Ollama ended the pull without reporting success")
    except OllamaError as exc:
        log.warning("Pull of %s failed: %s", pull.model, exc)
        pull.fail(exc)
