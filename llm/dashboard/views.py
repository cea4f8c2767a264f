"""The operator dashboard. Each view validates, acts through the modules below, responds.

Actions are POST forms that answer with a message and a redirect to the dashboard,
and note who did what in the audit log, as the API does.
"""

import logging

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from llm import audit, catalog, queueing, residency
from llm.dashboard import panels
from llm.dashboard.access import staff_required
from llm.dashboard.forms import CatalogModelForm, PromptForm
from llm.models import GenerationRequest, ModelPull
from llm.ollama import OllamaError

log = logging.getLogger(__name__)

# How long Switch and Unload wait for a running generation to let go of the model.
ACTION_WAIT_SECONDS = 15.0


@staff_required
def home(request):
    return render(request, "llm/home.html", panels.snapshot())


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
        generation = queueing.submit_generation(
            None, data["model"], data["prompt"], form.options(), source=GenerationRequest.Source.DASHBOARD
        )
    except queueing.QueueFull as exc:
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
    queueing.submit_pulls([name])
    audit.record(audit.Action.PULL, name, user=request.user)
    return _answer(request, messages.SUCCESS, f"Pulling {name}: follow it under Pulls.")


@staff_required
@require_POST
def pull_all(request):
    names = catalog.names()
    queueing.submit_pulls(names)
    audit.record(audit.Action.PULL_ALL, ", ".join(names), user=request.user)
    return _answer(request, messages.SUCCESS, f"Pulling all {len(names)} models of the catalog.")


@staff_required
@require_POST
def cancel_pull(request, pk):
    pull = get_object_or_404(ModelPull, pk=pk)
    if not pull.cancel():
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
        residency.switch_to(name, wait=ACTION_WAIT_SECONDS)
    except residency.EngineBusy as exc:
        return _answer(request, messages.ERROR, str(exc))
    except OllamaError as exc:
        return _answer(request, messages.ERROR, f"Could not switch to {name}: {exc}")
    audit.record(audit.Action.SWITCH, name, user=request.user)
    return _answer(request, messages.SUCCESS, f"Switched to {name}.")


@staff_required
@require_POST
def unload(request):
    try:
        unloaded = residency.unload(wait=ACTION_WAIT_SECONDS)
    except residency.EngineBusy as exc:
        return _answer(request, messages.ERROR, str(exc))
    except OllamaError as exc:
        return _answer(request, messages.ERROR, f"Could not unload: {exc}")
    audit.record(audit.Action.UNLOAD, ", ".join(unloaded), user=request.user)
    if not unloaded:
        return _answer(request, messages.INFO, "No model was loaded.")
    return _answer(request, messages.SUCCESS, f"Unloaded {', '.join(unloaded)}: its memory is free.")


@staff_required
@require_POST
def clear_queue(request):
    cleared = queueing.clear_waiting()
    audit.record(audit.Action.QUEUE_CLEAR, "queue", user=request.user, cleared=cleared)
    plural = "" if cleared == 1 else "s"
    return _answer(request, messages.SUCCESS, f"Cleared {cleared} waiting request{plural} from the queue.")


def _generation(request_id):
    return get_object_or_404(GenerationRequest.objects.select_related("token"), request_id=request_id)


def _answer(request, level, text):
    messages.add_message(request, level, text)
    return redirect("dashboard:home")


def _first_error(form):
    return next(iter(form.errors.values()))[0]
