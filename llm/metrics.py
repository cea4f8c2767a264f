"""Numbers for Prometheus at GET /metrics, read from the database at scrape time.

Every figure comes from our tables, not from counters in a process's memory, so
it is the same whichever process answers the scrape (web or worker, one or
several), and it survives restarts:

- the queue and requests by outcome from `GenerationRequest`, tokens from its
  Ollama counters, pull bytes from `ModelPull`;
- model loads and swaps from the audit log, where `record_load()` (called by
  llm/residency.py) writes one `model.load` entry per load, with its seconds.

Counts of rows go down if old rows are deleted; Prometheus takes a counter that
goes down as a reset, which is what it is.

`prometheus_client` writes the exposition format (escaping, types, HELP lines),
with a registry of our own: the library's default one would add figures about
this one process only (its memory, its GC), which mean little behind threads and
two processes.
"""

import hmac
import ipaddress

from django.conf import settings
from django.db.models import Count, FloatField, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from llm import audit
from llm.models import ApiToken, AuditEntry, GenerationRequest, ModelPull

FINAL_STATUSES = ("done", "failed", "cancelled")


def record_load(model, seconds, unloaded):
    """One model load: `unloaded` lists the models put out of memory for it (a swap when not empty)."""
    unloaded = list(unloaded)
    audit.record(audit.Action.MODEL_LOAD, model, seconds=round(seconds, 6), swap=bool(unloaded), unloaded=unloaded)


class DatabaseCollector:
    def collect(self):
        yield from _queue()
        yield from _requests()
        yield from _tokens()
        yield from _loads()
        yield from _pulls()


def _queue():
    waiting = GaugeMetricFamily("llm_queue_length", "Generation requests waiting to start.")
    waiting.add_metric([], GenerationRequest.objects.waiting().count())
    yield waiting
    running = GaugeMetricFamily("llm_requests_running", "Generation requests running now (0 or 1).")
    running.add_metric([], GenerationRequest.objects.running().count())
    yield running


def _requests():
    family = CounterMetricFamily(
        "llm_requests", "Generation requests that ended, by outcome and door.", labels=["outcome", "source"]
    )
    counts = {(status, source): 0 for status in FINAL_STATUSES for source in GenerationRequest.Source.values}
    ended = GenerationRequest.objects.filter(status__in=FINAL_STATUSES)
    for row in ended.values("status", "source").annotate(n=Count("pk")):
        counts[row["status"], row["source"]] = row["n"]
    for (status, source), n in sorted(counts.items()):
        family.add_metric([status, source], n)
    yield family


def _tokens():
    generated = CounterMetricFamily("llm_generated_tokens", "Tokens generated (Ollama's eval_count).", labels=["model"])
    prompt = CounterMetricFamily("llm_prompt_tokens", "Prompt tokens read (Ollama's prompt_eval_count).", labels=["model"])
    done = GenerationRequest.objects.filter(status=GenerationRequest.Status.DONE)
    sums = done.values("model").annotate(generated=Sum("eval_count"), prompt=Sum("prompt_eval_count"))
    for row in sums.order_by("model"):
        generated.add_metric([row["model"]], row["generated"] or 0)
        prompt.add_metric([row["model"]], row["prompt"] or 0)
    yield generated
    yield prompt


def _loads():
    loads = SummaryMetricFamily("llm_model_load_seconds", "Time to load a model into memory.", labels=["model"])
    swaps = CounterMetricFamily(
        "llm_model_swaps", "Loads that first put another model out of memory.", labels=["model"]
    )
    rows = (
        AuditEntry.objects.filter(action=audit.Action.MODEL_LOAD)
        .values("target")
        .annotate(
            n=Count("pk"),
            swaps=Count("pk", filter=Q(detail__swap=True)),
            seconds=Sum(Cast(KT("detail__seconds"), FloatField())),
        )
        .order_by("target")
    )
    for row in rows:
        loads.add_metric([row["target"]], count_value=row["n"], sum_value=row["seconds"] or 0.0)
        swaps.add_metric([row["target"]], row["swaps"])
    yield loads
    yield swaps


def _pulls():
    pulled = CounterMetricFamily("llm_pull_bytes", "Bytes downloaded by model pulls.", labels=["model"])
    pulls = CounterMetricFamily("llm_pulls", "Model pulls, by status.", labels=["status"])
    for row in ModelPull.objects.values("model").annotate(done=Sum("completed_bytes")).order_by("model"):
        pulled.add_metric([row["model"]], row["done"] or 0)
    counts = dict.fromkeys(ModelPull.Status.values, 0)
    counts.update(ModelPull.objects.values_list("status").annotate(n=Count("pk")).order_by())
    for status, n in counts.items():
        pulls.add_metric([status], n)
    yield pulled
    yield pulls


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(DatabaseCollector())


def metrics(request):
    """GET /metrics: not for the whole world (see `may_scrape`)."""
    if not may_scrape(request):
        return HttpResponse("Forbidden: see METRICS_ALLOW and METRICS_TOKEN\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def may_scrape(request):
    """A Bearer METRICS_TOKEN or admin API token, or a direct request from METRICS_ALLOW.

    "Direct" means it did not come through a proxy: a TLS proxy on the same box
    connects from 127.0.0.1 too, so a request that arrived over HTTPS or carries
    a forwarding header does not count as local.
    """
    raw = _bearer(request)
    if raw:
        if settings.METRICS_TOKEN and _same(raw, settings.METRICS_TOKEN):
            return True
        token = ApiToken.objects.authenticate(raw)
        return token is not None and token.is_admin
    return _is_local(request)


def _bearer(request):
    if raw := request.META.get("HTTP_X_API_KEY", "").strip():
        return raw
    scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return raw.strip() if scheme.lower() == "bearer" else ""


def _same(given, expected):
    return hmac.compare_digest(given.encode(), expected.encode())


FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PROTO")


def _is_local(request):
    if request.is_secure() or any(header in request.META for header in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOW)
