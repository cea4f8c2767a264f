"""What the dashboard shows, gathered for its templates.

`snapshot()` is the whole home page at one moment; the page and the partial
that htmx swaps in every second render the same context.
"""

import json
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from llm import audit, catalog, status
from llm.engine import nodes
from llm.queue import policy
from llm.models import AuditEntry, GenerationRequest, Lease, ModelPull
from llm.engine.ollama import OllamaError, client
from llm.engine.keepalive import BadRequest, parse_keep_alive

QUEUE_SHOWN = 25
RECENT_REQUESTS = 10
RECENT_PULLS = 5


def snapshot():
    report = status.report()
    installed = _installed(report)
    return {
        "ollama": _ollama(report),
        "nodes": report["nodes"] if nodes.is_fleet() else [],  # one card each, in a fleet
        "installed": installed,
        "catalog": _catalog(installed, report["current_model"]),
        **_queue(),
        **_pulls(),
    }


def generation(request):
    """A request's detail page."""
    if request.status == GenerationRequest.Status.QUEUED:
        request.position = policy.queue_position(request)
    request.who = _who(request)
    return {
        "generation": request,
        "timings": _timings(request),
        "took": _duration_or_none(request.duration),
        "text_removed": _text_removed(request),
        "tool_calls": [(call.get("function", {}).get("name"), json.dumps(call.get("function", {}).get("arguments")))
                       for call in request.tool_calls or [] if isinstance(call, dict)],
    }


def duration(delta):
    """'850 ms', '4.2 s', '3 min 05 s', '2 h 03 min': for a timedelta or seconds."""
    seconds = max(delta.total_seconds() if isinstance(delta, timedelta) else float(delta), 0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        minutes, seconds = divmod(int(seconds), 60)
        return f"{minutes} min {seconds:02d} s"
    hours, seconds = divmod(int(seconds), 3600)
    return f"{hours} h {seconds // 60:02d} min"


# --- the panels -------------------------------------------------------------------


def _ollama(report):
    """Reachable or not, its version, and the model in memory with its keep-alive."""
    host = client().shown_host  # never a user:password@ from OLLAMA_HOST
    if not report["ollama_running"]:
        return {"up": False, "error": report["ollama_error"], "host": host}
    try:
        version, resident = client().version(), client().ps()
    except OllamaError as exc:
        return {"up": False, "error": str(exc), "host": host}
    loaded = _loaded(resident[0]) if resident else None
    return {"up": True, "version": version, "host": host, "loaded": loaded, "standin": report["ollama_standin"]}


def _loaded(model):
    expires_at = parse_datetime(model.get("expires_at") or "")
    keep_alive = _keep_alive_seconds()
    forever = keep_alive == float("inf")
    # Ollama restarts the keep-alive clock at each use, so the clock tells when that was.
    knowable = not forever and keep_alive is not None and expires_at is not None
    name = catalog.name_for_tag(model.get("model") or model["name"])
    since = _loaded_since(name)
    return {
        "name": name,
        "since": since,
        # Ollama lists a model in /api/ps while it still loads, before the gateway records the load.
        "loading": since is None and Lease.current_holder(Lease.ENGINE) is not None,
        "size": model.get("size"),
        "expires_at": None if forever else expires_at,
        "last_used": expires_at - timedelta(seconds=keep_alive) if knowable else None,
        "keep_alive": settings.LLM_KEEP_ALIVE,
    }


def _installed(report):
    return [
        {**model, "modified_at": parse_datetime(model.get("modified_at") or "")}
        for model in report["installed_models"]
    ]


def _catalog(installed, current):
    names = {model["name"] for model in installed}
    # A model's pull: running, else waiting for its turn (queued), else none ("running" sorts last and wins).
    pulls = dict(ModelPull.objects.unfinished().order_by("status").values_list("model", "status"))
    return [
        {
            "entry": entry, "installed": entry.name in names, "loaded": entry.name == current,
            "pulling": entry.name in pulls, "pull_status": pulls.get(entry.name),
        }
        for entry in catalog.entries()
    ]


def _queue():
    now = timezone.now()
    positions = policy.queue_positions()
    first = sorted(positions, key=positions.get)[:QUEUE_SHOWN]
    waiting = sorted(
        GenerationRequest.objects.waiting().filter(pk__in=first).select_related("token"),
        key=lambda request: positions[request.pk],
    )
    for request in waiting:
        request.position = positions[request.pk]
        request.waited = duration(now - request.created_at)
        request.who = _who(request)
    running = list(GenerationRequest.objects.running().select_related("token").order_by("started_at"))
    for request in running:
        request.elapsed = duration(now - (request.started_at or now))
        request.who = _who(request)
    finished = list(
        GenerationRequest.objects.exclude(status__in=GenerationRequest.UNFINISHED)
        .select_related("token")
        .order_by("-finished_at")[:RECENT_REQUESTS]
    )
    for request in finished:
        request.took = _duration_or_none(request.duration)
        request.who = _who(request)
    return {"waiting": waiting, "waiting_count": policy.queue_length(), "running": running, "finished": finished}


def _pulls():
    now = timezone.now()
    active = list(ModelPull.objects.unfinished().order_by("created_at", "pk"))
    for pull in active:
        seconds = (now - pull.started_at).total_seconds() if pull.started_at else 0
        pull.bytes_per_second = pull.completed_bytes / seconds if seconds > 0 else None
    recent = ModelPull.objects.exclude(status__in=(ModelPull.Status.QUEUED, ModelPull.Status.RUNNING))
    return {"active_pulls": active, "recent_pulls": recent.order_by("-finished_at")[:RECENT_PULLS]}


# --- helpers ----------------------------------------------------------------------


def _timings(request):
    """Ollama's own figures for a finished generation, as (label, value) rows."""

    def took(nanoseconds):
        return None if nanoseconds is None else duration(nanoseconds / 1e9)

    rows = [
        ("Total", took(request.total_duration)),
        ("Model load", took(request.load_duration)),
        ("Prompt tokens", request.prompt_eval_count),
        ("Prompt evaluation", took(request.prompt_eval_duration)),
        ("Generated tokens", request.eval_count),
        ("Generation", took(request.eval_duration)),
    ]
    if request.eval_count and request.eval_duration:
        rows.append(("Speed", f"{request.eval_count / (request.eval_duration / 1e9):.1f} tokens/s"))
    return [(label, value) for label, value in rows if value is not None]


def _who(request):
    """Who sent a request: its token's name, or where it came from."""
    if request.token is not None:
        return request.token.name
    return "dashboard" if request.source == GenerationRequest.Source.DASHBOARD else "(no token)"


def _loaded_since(name):
    """When the gateway loaded `name`, if the last load it made was that model's (llm/engine/residency.py records each)."""
    last = AuditEntry.objects.filter(action=audit.Action.MODEL_LOAD).order_by("-created_at", "-pk").first()
    return last.created_at if last is not None and last.target == name else None


def _text_removed(request):
    """True when the retention removed this request's text (llm/retention.py): it is past the days and has none."""
    if not request.is_finished or request.finished_at is None:
        return False
    past = request.finished_at < timezone.now() - timedelta(days=settings.LLM_KEEP_REQUEST_TEXT_DAYS)
    return past and not (request.prompt or request.response or request.messages)


def _duration_or_none(delta):
    return duration(delta) if delta is not None else None


def _keep_alive_seconds():
    """LLM_KEEP_ALIVE in seconds (inf: forever), read as Ollama reads it; None if unreadable."""
    value = settings.LLM_KEEP_ALIVE
    try:
        return parse_keep_alive(float(value))
    except ValueError:
        pass
    try:
        return parse_keep_alive(value)
    except BadRequest:
        return None
