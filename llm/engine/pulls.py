"""Downloading models in the background, one at a time, with progress in the database.

Pulls have their own lease, so a pull runs beside a generation (on the
cluster's second worker process) and never holds one up.
"""

import logging
import time

from django.conf import settings

from llm import catalog
from llm.engine import fit, leases
from llm.models import Lease, ModelPull
from llm.engine.ollama import OllamaError, client

log = logging.getLogger(__name__)

# Progress lines arrive many times a second; the database hears of them this often.
PROGRESS_SAVE_SECONDS = 0.25


def request_pull(name, token=None):
    """The pull for catalog model `name`: one already on its way, or a new one."""
    entry = catalog.get(name)
    pending = ModelPull.objects.unfinished().filter(model=entry.name).order_by("created_at").first()
    return pending or ModelPull.objects.create(model=entry.name, tag=entry.tag, requested_by=token)


def drain(max_pulls: int | None = None) -> int:
    """Run waiting pulls until none is left (or `max_pulls` ran); returns at once if
    another process is pulling."""
    processed = 0
    while ModelPull.objects.unfinished().exists() and (max_pulls is None or processed < max_pulls):
        with leases.hold(Lease.PULLS) as holder:
            if holder is None:
                break
            _recover_orphans()
            pull = ModelPull.objects.waiting().order_by("created_at", "pk").first()
            if pull is not None and pull.claim():
                execute(pull)
                processed += 1
    return processed


def _recover_orphans():
    """Pulls left running by a worker that died go back in line: Ollama resumes
    a pull from the layers it already has. Call it only while holding the lease."""
    for orphan in ModelPull.objects.filter(status=ModelPull.Status.RUNNING):
        log.warning("Resuming the pull of %s: its worker stopped", orphan.model)
        ModelPull.objects.filter(pk=orphan.pk, status=ModelPull.Status.RUNNING).update(
            status=ModelPull.Status.QUEUED, detail="resuming after an interruption"
        )


def execute(pull):
    log.info("Pulling %s (%s)", pull.model, pull.tag)
    deadline = time.monotonic() + settings.LLM_PULL_TIMEOUT
    saved_at = 0.0
    try:
        for line in client().pull(pull.tag):
            known = pull.total_bytes
            pull.record(line)
            if pull.total_bytes > known:
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
                return
        raise OllamaError("Ollama ended the pull without reporting success")
    except OllamaError as exc:
        log.warning("Pull of %s failed: %s", pull.model, exc)
        pull.fail(exc)
