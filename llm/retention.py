"""Retention: old finished work is pruned, so the database stays small for years.

What goes, counted from when the work finished (settings in days):

- a finished request's text after LLM_KEEP_REQUEST_TEXT_DAYS: its prompt,
  messages, response, thinking and tool calls, and the fields passed through to Ollama (`extra`: a
  system prompt, images); its model, timings, Ollama's counters and error stay;
- the finished request itself after LLM_KEEP_REQUESTS_DAYS;
- audit entries after LLM_KEEP_AUDIT_DAYS (from when they were written);
- finished pulls after LLM_KEEP_PULLS_DAYS.

Queued and running work is never touched, and /metrics' totals live apart
(`llm.models.Counter`), so they do not go down. The worker runs `prune()` every
LLM_PRUNE_MINUTES on django-q2's schedule (`ensure_schedule()`), and
`manage.py prune [--dry-run]` runs it by hand. Rows go in batches of BATCH, so a
first prune of a large table never holds SQLite's write lock for long.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from llm.models import AuditEntry, GenerationRequest, ModelPull, WorkStatus
from llm.models.generations import HAS_TEXT

BATCH = 5000
SCHEDULE_NAME = "prune old finished work"
FINISHED = (WorkStatus.DONE, WorkStatus.FAILED, WorkStatus.CANCELLED)
TEXT_FIELDS = {"prompt": "", "messages": None, "response": "", "thinking": "", "tool_calls": None, "extra": {}}


@dataclass
class Step:
    """One kind of pruning: what it does, to which rows, older than when."""

    what: str
    rows: QuerySet
    before: datetime
    changes: dict | None = None  # None: delete the rows; else update these fields

    def run(self, dry_run: bool = False) -> int:
        """Do it (or, dry, count the rows it would touch); returns how many rows.

        Batch by batch, each its own short statement: finding the rows only
        reads, through the index on their date (no write lock on SQLite while
        it looks), and the write re-checks the conditions, so a row that changed
        meanwhile is left alone. A row done no longer matches, so each batch
        starts again from the first that does.
        """
        if dry_run:
            return self.rows.count()
        done = 0
        while batch := list(self.rows.order_by().values_list("pk", flat=True)[:BATCH]):
            rows = self.rows.filter(pk__in=batch)
            changed = rows.delete()[0] if self.changes is None else rows.update(**self.changes)
            done += changed
            if len(batch) < BATCH or not changed:
                break
        return done


def plan(now: datetime | None = None) -> list[Step]:
    """What a prune at `now` would do, in the order it does it."""
    now = now or timezone.now()

    def cutoff(days):
        return now - timedelta(days=days)

    requests, text = cutoff(settings.LLM_KEEP_REQUESTS_DAYS), cutoff(settings.LLM_KEEP_REQUEST_TEXT_DAYS)
    audit, pulls = cutoff(settings.LLM_KEEP_AUDIT_DAYS), cutoff(settings.LLM_KEEP_PULLS_DAYS)
    finished = GenerationRequest.objects.filter(status__in=FINISHED)
    return [
        Step("finished requests deleted", finished.filter(finished_at__lt=requests), requests),
        Step(
            "finished requests' text removed",
            # Not the rows the step above deletes (a dry run counts them there).
            finished.filter(HAS_TEXT, finished_at__lt=text, finished_at__gte=requests),
            text,
            TEXT_FIELDS,
        ),
        Step("audit entries deleted", AuditEntry.objects.filter(created_at__lt=audit), audit),
        Step("finished pulls deleted", ModelPull.objects.filter(status__in=FINISHED, finished_at__lt=pulls), pulls),
    ]


def prune(now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Prune what the retention settings say; returns {what: rows}. With dry_run, only counts."""
    return {step.what: step.run(dry_run) for step in plan(now)}


def ensure_schedule() -> None:
    """Make django-q2's schedule for `prune()` match LLM_PRUNE_MINUTES (0: no schedule). Idempotent."""
    from django_q.models import Schedule

    if not settings.LLM_PRUNE_MINUTES:
        Schedule.objects.filter(name=SCHEDULE_NAME).delete()
        return
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "llm.queue.tasks.prune",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.LLM_PRUNE_MINUTES,
            "repeats": -1,
        },
    )
