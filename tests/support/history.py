"""A known history, seeded straight into the tables, for the history charts and the usage page.

`seed_hour(token)` stores the story below and returns `NOW`; the figures the
charts must show for it are spelled out in tests/dashboard/test_history.py.

Window "hour" at NOW (12:02:30 UTC): twelve 5-minute buckets from 11:05; bucket
10 is 11:55-12:00, bucket 11 is 12:00-12:05. llama3.2:3b was loaded at 10:00.

    request  model   created   started   finished  outcome     eval  eval s
    r0       llama   10:40:00  10:41:00  10:50:00  done         10    1   (before the window)
    r1       llama   11:50:00  11:50:01  11:55:30  done         50    2
    r3       llama   11:50:20  11:55:31  11:56:00  failed
    r2       phi     11:50:10  11:56:10  11:57:00  done        100    4
    r4       phi     11:58:00  -         11:59:00  cancelled (while waiting)
    r5       llama   12:00:10  12:00:11  12:00:40  done         30    1
    r7       phi     12:00:15  12:01:30  12:02:00  cancelled (while running)
    r6       llama   12:00:20  12:00:41  12:01:20  done         60    1

Loads recorded: llama 10:00:00, phi 11:56:08, llama 12:00:11, phi 12:01:30.
"""

from datetime import datetime, timezone

from llm import audit
from llm.models import AuditEntry, GenerationRequest

NOW = datetime(2026, 11, 30, 12, 2, 30, tzinfo=timezone.utc)
LLAMA, PHI = "llama3.2:3b", "phi4:mini"


def at(clock: str) -> datetime:
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return NOW.replace(hour=hours, minute=minutes, second=seconds)


def finished_request(model, created, started, finished, status="done", eval_count=None, eval_seconds=None, **fields):
    """A request that has ended, with its times as `at()` clocks or datetimes."""
    times = [at(value) if isinstance(value, str) else value for value in (created, started, finished)]
    return GenerationRequest.objects.create(
        model=model,
        status=status,
        created_at=times[0],
        started_at=times[1],
        finished_at=times[2],
        eval_count=eval_count,
        eval_duration=None if eval_seconds is None else int(eval_seconds * 1e9),
        prompt_eval_count=fields.pop("prompt_eval_count", None),
        **fields,
    )


def load(model, clock):
    entry = audit.record(audit.Action.MODEL_LOAD, model, seconds=2.0, swap=True, unloaded=[])
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=at(clock))


def seed_hour(token=None):
    rows = [
        (LLAMA, "10:40:00", "10:41:00", "10:50:00", "done", 10, 1),
        (LLAMA, "11:50:00", "11:50:01", "11:55:30", "done", 50, 2),
        (LLAMA, "11:50:20", "11:55:31", "11:56:00", "failed", None, None),
        (PHI, "11:50:10", "11:56:10", "11:57:00", "done", 100, 4),
        (PHI, "11:58:00", None, "11:59:00", "cancelled", None, None),
        (LLAMA, "12:00:10", "12:00:11", "12:00:40", "done", 30, 1),
        (PHI, "12:00:15", "12:01:30", "12:02:00", "cancelled", None, None),
        (LLAMA, "12:00:20", "12:00:41", "12:01:20", "done", 60, 1),
    ]
    for model, created, started, finished, status, tokens, seconds in rows:
        finished_request(
            model, created, started and at(started), finished, status, tokens, seconds,
            token=token, prompt_eval_count=tokens and tokens // 10,
        )
    for model, clock in [(LLAMA, "10:00:00"), (PHI, "11:56:08"), (LLAMA, "12:00:11"), (PHI, "12:01:30")]:
        load(model, clock)
    return NOW


def seed_recent(now=None):
    """The same story, moved so that NOW is `now` (default: this moment): for pages that read the clock.

    In the last hour: 7 requests (1 failed, 2 cancelled), 3 loads where FCFS would make 4 (1 saved).
    """
    from django.utils import timezone

    seed_hour()
    shift = (now or timezone.now()) - NOW
    for row in GenerationRequest.objects.all():
        for field in ("created_at", "started_at", "finished_at"):
            if getattr(row, field):
                setattr(row, field, getattr(row, field) + shift)
        row.save(update_fields=["created_at", "started_at", "finished_at"])
    for entry in AuditEntry.objects.filter(action=audit.Action.MODEL_LOAD):
        AuditEntry.objects.filter(pk=entry.pk).update(created_at=entry.created_at + shift)
