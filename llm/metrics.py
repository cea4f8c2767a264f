"""Numbers for Prometheus at GET /metrics, read from the database at scrape time.

Every figure comes from our tables, not from counters in a process's memory, so
it is the same whichever process answers the scrape (web or worker, one or
several), and it survives restarts. A scrape only reads, and reads little,
whatever the size of the tables:

- the queue gauges count the unfinished requests (an index on status);
- the counters are running totals (`llm.models.Counter`) that the code adds to
  where things happen: a request that ends (llm/models/generations.py), a pull
  that ends (llm/models/pulls.py), a model load (llm/engine/residency.py). They outlive
  the rows they count, so pruning old work (llm/retention.py) leaves them alone;
- pull bytes add the bytes of the pulls still running to the total of the ended ones.

`prometheus_client` writes the exposition format (escaping, types, HELP lines),
with a registry of our own: the library's default one would add figures about
this one process only (its memory, its GC), which mean little behind threads and
two processes.
"""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily

from llm.models import ApiToken, Counter, GenerationRequest, ModelPull

FINAL_STATUSES = ("done", "failed", "cancelled")


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
    counts.update(Counter.totals("llm_requests"))
    for (status, source), n in sorted(counts.items()):
        family.add_metric([status, source], n)
    yield family


def _tokens():
    generated = CounterMetricFamily("llm_generated_tokens", "Tokens generated (Ollama's eval_count).", labels=["model"])
    prompt = CounterMetricFamily("llm_prompt_tokens", "Prompt tokens read (Ollama's prompt_eval_count).", labels=["model"])
    for family, name in ((generated, "llm_generated_tokens"), (prompt, "llm_prompt_tokens")):
        for (model,), n in sorted(Counter.totals(name).items()):
            family.add_metric([model], n)
    yield generated
    yield prompt


def _loads():
    loads = SummaryMetricFamily("llm_model_load_seconds", "Time to load a model into memory.", labels=["model"])
    swaps = CounterMetricFamily(
        "llm_model_swaps", "Loads that first put another model out of memory.", labels=["model"]
    )
    seconds, swapped = Counter.totals("llm_model_load_seconds"), Counter.totals("llm_model_swaps")
    for model, n in sorted(Counter.totals("llm_model_loads").items()):
        loads.add_metric(list(model), count_value=n, sum_value=seconds.get(model, 0.0))
        swaps.add_metric(list(model), swapped.get(model, 0))
    yield loads
    yield swaps


def _pulls():
    pulled = CounterMetricFamily("llm_pull_bytes", "Bytes downloaded by model pulls.", labels=["model"])
    pulls = CounterMetricFamily("llm_pulls", "Model pulls, by status.", labels=["status"])
    unfinished = list(ModelPull.objects.unfinished().values_list("model", "status", "completed_bytes"))
    bytes_by_model = {model: n for (model,), n in Counter.totals("llm_pull_bytes").items()}
    counts = dict.fromkeys(ModelPull.Status.values, 0)
    counts.update({status: n for (status,), n in Counter.totals("llm_pulls").items()})
    for model, status, completed in unfinished:
        bytes_by_model[model] = bytes_by_model.get(model, 0) + completed
        counts[status] += 1
    for model, n in sorted(bytes_by_model.items()):
        pulled.add_metric([model], n)
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
