"""The operator dashboard. Each view validates, acts through the modules below, responds.

Actions are POST forms that answer with a message and a redirect to the dashboard. They go
through the same core as the API (llm/rules/actions.py), which notes who did what in the
audit log; a prompt obeys the same limits (llm/rules/limits.py).
"""

import logging

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from llm.engine import residency
from llm.queue import intake
from llm.dashboard import charts, panels
from llm.dashboard import history as history_figures
from llm.dashboard import usage as usage_figures
from llm.dashboard.access import staff_required
from llm.dashboard.forms import CatalogModelForm, NodeServiceForm, PromptForm
from llm.models import GenerationRequest, ModelPull
from llm.engine.ollama import OllamaError
from llm.rules import actions, limits
from llm.rules.roles import Actor

log = logging.getLogger(__name__)

# How long Switch and Unload wait for a running generation to let go of the model.
ACTION_WAIT_SECONDS = 15.0


@staff_required
def home(request):
    return render(request, "llm/home.html", {**panels.snapshot(), "history": charts.history_panel(_range(request))})


@staff_required
def history(request):
    """The history charts for one range, for htmx to swap in."""
    return render(request, "llm/_history.html", {"history": charts.history_panel(_range(request))})


@staff_required
def usage(request):
    """Usage per token over a range, sortable by any column."""
    range_name, (sort, descending) = _range(request), _sort(request)
    tokens = usage_figures.token_usage(range_name, sort, descending)
    columns = _usage_columns(range_name, sort, descending)
    context = {"tokens": tokens, "range": range_name, "columns": columns, "ranges": charts.RANGE_LABELS.items()}
    return render(request, "llm/usage.html", context)


@staff_required
def live(request):
    """The panels of the home page, for htmx to swap in every second."""
    return render(request, "llm/_panels.html", panels.snapshot())


@staff_required
def generation(request, request_id):
    return render(request, "llm/request.html", panels.generation(_generation(request_id)))


@staff_required
def generation_live(request, request_id):
    return render(request, "llm/_request.html", panels.generation(_generation(request_id)))


@staff_required
def try_prompt(request):
    form = PromptForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "llm/try.html", {"form": form})
    data = form.cleaned_data
    try:
        generation = intake.submit_generation(
            None, data["model"], data["prompt"], form.options(), source=GenerationRequest.Source.DASHBOARD
        )
    except limits.Refused as exc:
        form.add_error(None, str(exc))
        return render(request, "llm/try.html", {"form": form})
    # Generations carry a token, not a user: the log says who sent this one.
    log.info("Dashboard user %s queued %s on %s", request.user.get_username(), generation.request_id, data["model"])
    messages.success(request, f"Queued {generation.request_id} on {data['model']}.")
    return redirect("dashboard:request", generation.request_id)


@staff_required
@require_POST
def pull(request):
    form = CatalogModelForm(request.POST)
    if not form.is_valid():
        return _answer(request, messages.ERROR, _first_error(form))
    name = form.cleaned_data["model"]
    actions.pull(Actor.of(request), name)
    return _answer(request, messages.SUCCESS, f"Pulling {name}: follow it under Pulls.")


@staff_required
@require_POST
def pull_all(request):
    pulls = actions.pull_all(Actor.of(request))
    return _answer(request, messages.SUCCESS, f"Pulling all {len(pulls)} models of the catalog.")


@staff_required
@require_POST
def cancel_pull(request, pk):
    pull = get_object_or_404(ModelPull, pk=pk)
    if not actions.cancel_pull(Actor.of(request), pull):
        return _answer(request, messages.ERROR, f"The pull of {pull.model} had already ended ({pull.status}).")
    return _answer(request, messages.SUCCESS, f"Cancelled the pull of {pull.model}.")


@staff_required
@require_POST
def switch(request):
    form = CatalogModelForm(request.POST)
    if not form.is_valid():
        return _answer(request, messages.ERROR, _first_error(form))
    name = form.cleaned_data["model"]
    try:
        actions.switch(Actor.of(request), name, wait=ACTION_WAIT_SECONDS)
    except residency.EngineBusy as exc:
        return _answer(request, messages.ERROR, str(exc))
    except OllamaError as exc:
        return _answer(request, messages.ERROR, f"Could not switch to {name}: {exc}")
    return _answer(request, messages.SUCCESS, f"Switched to {name}.")


@staff_required
@require_POST
def unload(request):
    try:
        unloaded = actions.unload(Actor.of(request), wait=ACTION_WAIT_SECONDS)
    except residency.EngineBusy as exc:
        return _answer(request, messages.ERROR, str(exc))
    except OllamaError as exc:
        return _answer(request, messages.ERROR, f"Could not unload: {exc}")
    if not unloaded:
        return _answer(request, messages.INFO, "No model was loaded.")
    return _answer(request, messages.SUCCESS, f"Unloaded {', '.join(unloaded)}: its memory is free.")


@staff_required
@require_POST
def node_service(request):
    form = NodeServiceForm(request.POST)
    if not form.is_valid():
        return _answer(request, messages.ERROR, _first_error(form))
    node, in_service = form.cleaned_data["node"], form.cleaned_data["in_service"]
    actions.take_out_of_service(Actor.of(request), node, in_service)
    if in_service:
        return _answer(request, messages.SUCCESS, f"Node {node} is back in service.")
    return _answer(request, messages.SUCCESS, f"Node {node} is out of service: it finishes what it runs, takes nothing new.")


@staff_required
@require_POST
def clear_queue(request):
    cleared = actions.clear_queue(Actor.of(request))
    plural = "" if cleared == 1 else "s"
    return _answer(request, messages.SUCCESS, f"Cleared {cleared} waiting request{plural} from the queue.")


def _range(request):
    """The history range asked for in ?range=, or the default one."""
    name = request.GET.get("range", "")
    return name if name in history_figures.RANGES else history_figures.DEFAULT_RANGE


def _sort(request):
    """?sort=<column>, descending unless ?dir=asc; an unknown column sorts by requests."""
    sort = request.GET.get("sort", "")
    return (sort if sort in usage_figures.USAGE_SORTS else "requests"), request.GET.get("dir") != "asc"


USAGE_COLUMNS = [  # (usage_figures.USAGE_SORTS, heading)
    ("name", "Token"), ("requests", "Requests"), ("tokens_in", "Tokens in"), ("tokens_out", "Tokens out"),
    ("wait_p50", "Wait p50"), ("wait_p95", "Wait p95"), ("last_used", "Last used"), ("refusals", "Rate-limit refusals"),
]


def _usage_columns(range_name, sort, descending):
    """The usage table's headers: a click sorts by the column, a second click turns the order round."""
    columns = []
    for key, label in USAGE_COLUMNS:
        current = key == sort
        direction = "asc" if current and descending else "desc"
        order = ("descending" if descending else "ascending") if current else None
        columns.append({"key": key, "label": label, "href": f"?range={range_name}&sort={key}&dir={direction}", "order": order})
    return columns


def _generation(request_id):
    return get_object_or_404(GenerationRequest.objects.select_related("token"), request_id=request_id)


def _answer(request, level, text):
    messages.add_message(request, level, text)
    return redirect("dashboard:home")


def _first_error(form):
    return next(iter(form.errors.values()))[0]
