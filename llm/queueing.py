"""What the web side does with the queue: store work, wake the worker, wait for results."""

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from llm import pulls, tasks
from llm.models import GenerationRequest


def submit_generation(token, model, prompt, options):
    with transaction.atomic():
        request = GenerationRequest.objects.create(token=token, model=model, prompt=prompt, options=options)
        # Wake the worker only once the row is visible to it.
        transaction.on_commit(tasks.wake_generation_worker)
    return request


def submit_pulls(names, token=None):
    pending = [pulls.request_pull(name, token) for name in names]
    tasks.wake_pull_worker()
    return pending


def nothing_ahead():
    """True when a new request would start at once: nobody waiting, nothing running."""
    return not GenerationRequest.objects.unfinished().exists()


def wait_for(records, timeout):
    """Poll until every record is finished or `timeout` seconds pass; returns them refreshed."""
    deadline = time.monotonic() + timeout
    while True:
        for record in records:
            if not record.is_finished:
                record.refresh_from_db()
        if all(record.is_finished for record in records) or time.monotonic() >= deadline:
            return records
        time.sleep(settings.LLM_POLL_SECONDS)


def clear_waiting():
    """Cancel every request not yet started; the running one goes on. Returns how many."""
    return GenerationRequest.objects.waiting().update(
        status=GenerationRequest.Status.CANCELLED, finished_at=timezone.now(), error="Cleared from the queue"
    )
