from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "LLM gateway"

    def ready(self):
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate
        from django_q.signals import post_spawn

        from llmsite import datadir

        checks.register(check_settings, "llm")
        post_spawn.connect(wake_on_worker_start, dispatch_uid="llm.wake_on_worker_start")
        post_migrate.connect(schedule_safety_net, sender=self, dispatch_uid="llm.schedule_safety_net")
        connection_created.connect(datadir.private_sqlite_files, dispatch_uid="llm.private_sqlite_files")


def wake_on_worker_start(**kwargs):
    """A worker that starts looks for work at once: after a crash, the tasks that
    would have woken it may be held by the dead cluster for hours (its `retry`).
    It also clears the sockets of dead processes and sets the prune's schedule."""
    from llm import retention
    from llm.queue import tasks, wakeups

    wakeups.sweep()  # sockets left in LLM_RUN_DIR by processes that died
    tasks.wake_generation_worker()
    tasks.wake_pull_worker()
    retention.ensure_schedule()  # LLM_PRUNE_MINUTES as this worker reads it


def schedule_safety_net(**kwargs):
    """Wake the worker every LLM_SAFETY_NET_MINUTES too, in case a wake-up was lost
    (a web process killed between storing a request and enqueueing its task). The
    first run is one interval away: a worker that starts wakes itself anyway. And
    prune old finished work every LLM_PRUNE_MINUTES (llm/retention.py)."""
    from datetime import timedelta

    from django.utils import timezone
    from django_q.models import Schedule

    # Before the queue became a package its tasks lived at llm.tasks: a schedule stored
    # then would call a module that is gone, every interval, for ever.
    Schedule.objects.filter(func__startswith="llm.tasks.").delete()
    minutes = settings.LLM_SAFETY_NET_MINUTES
    for func in ("llm.queue.tasks.run_generations", "llm.queue.tasks.run_pulls"):
        Schedule.objects.update_or_create(
            name=f"safety net: {func}",
            defaults={"func": func, "schedule_type": Schedule.MINUTES, "minutes": minutes, "repeats": -1,
                      "next_run": timezone.now() + timedelta(minutes=minutes)},
        )
    from llm import retention

    retention.ensure_schedule()


def check_settings(app_configs, **kwargs):
    """Bad configuration found at start-up, not at the first request."""
    from llm import catalog
    from llm.engine import keepalive

    errors = []
    if settings.LLM_CATALOG is not None:
        errors += [checks.Error(problem, id="llm.E001") for problem in catalog.validate(settings.LLM_CATALOG)]
    try:
        keepalive.parse_keep_alive(settings.LLM_KEEP_ALIVE)
    except keepalive.BadRequest as exc:
        errors.append(checks.Error(f"LLM_KEEP_ALIVE={settings.LLM_KEEP_ALIVE!r} is not a duration Ollama reads: {exc}",
                                   hint='Use a Go duration with a unit, like "5m", "30s" or "-1m" (forever).',
                                   id="llm.E003"))
    engine = settings.DATABASES["default"]["ENGINE"]
    if settings.LLM_WAKEUPS == "postgres" and "postgresql" not in engine:
        errors.append(checks.Error(
            f"LLM_WAKEUPS=postgres needs DATABASE_URL on PostgreSQL, not {engine.rsplit('.', 1)[-1]}",
            hint="Leave LLM_WAKEUPS unset (unix) on one box; several hosts share a PostgreSQL database.",
            id="llm.E004",
        ))
    q = settings.Q_CLUSTER
    if q["timeout"] >= q["retry"]:
        errors.append(
            checks.Error(
                "Q_CLUSTER timeout must be below retry, or django-q2 runs a long task twice", id="llm.E002"
            )
        )
    if q.get("workers", 1) < 2:
        errors.append(
            checks.Warning("With one worker process, pulls wait behind generations", id="llm.W001")
        )
    fleet = len(settings.LLM_NODES or ())
    if fleet > 1 and q.get("workers", 1) < fleet + 1:
        errors.append(checks.Warning(
            f"Q_WORKERS={q.get('workers')} for {fleet} nodes: they cannot all generate at once",
            hint=f"Leave Q_WORKERS unset ({fleet + 2}: a process per node, one for pulls, one to ask a node that is down).",
            id="llm.W002",
        ))
    return errors
