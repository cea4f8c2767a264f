"""Rows of every age and kind, for the retention tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from llm.models import AuditEntry, GenerationRequest, ModelPull

DAY = timedelta(days=1)
TEXT = {
    "prompt": "the prompt",
    "messages": [{"role": "user", "content": "the message"}],
    "response": "the response",
    "extra": {"system": "the system prompt"},
}
COUNTERS = {"prompt_eval_count": 7, "eval_count": 11, "total_duration": 5_000_000, "eval_duration": 4_000_000}


@pytest.fixture
def retention_days(settings):
    """The retention settings the tests reason about (the defaults, spelled out)."""
    settings.LLM_KEEP_REQUESTS_DAYS = 90
    settings.LLM_KEEP_REQUEST_TEXT_DAYS = 7
    settings.LLM_KEEP_AUDIT_DAYS = 365
    settings.LLM_KEEP_PULLS_DAYS = 30
    return settings


def request_aged(days, status, **fields):
    """A request stored `days` ago; a finished one finished then too, with its text and Ollama's counters."""
    when = timezone.now() - days * DAY
    finished = status not in GenerationRequest.UNFINISHED
    return GenerationRequest.objects.create(
        request_id=f"req_{status}_{days}d",
        model="llama3.2:1b",
        status=status,
        created_at=when,
        started_at=when if status != "queued" else None,
        finished_at=when if finished else None,
        error="it broke" if status == "failed" else "",
        **TEXT,
        **(COUNTERS if status == "done" else {}),
        **fields,
    )


def audit_aged(days, action="switch"):
    return AuditEntry.objects.create(action=action, target=f"{days}d", created_at=timezone.now() - days * DAY)


def pull_aged(days, status):
    when = timezone.now() - days * DAY
    finished = status not in ("queued", "running")
    return ModelPull.objects.create(
        model=f"{status}-{days}d", tag="x", status=status, created_at=when, finished_at=when if finished else None
    )
