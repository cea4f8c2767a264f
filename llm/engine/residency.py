"""The single-model rule: Ollama holds at most one model in memory, whoever asks.

Every path that can make Ollama load a model (the worker, /switch,
/queue/process, the dashboard) does so inside `engine()`, a lease in the
database, so they take turns across processes; letting go of it wakes the
worker when requests wait. Inside it, `ensure_loaded()`
unloads whatever else is resident (keep_alive 0), waits until Ollama's /api/ps
confirms it is gone, and only then loads the wanted model with the configured
keep-alive.
"""

import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from llm import audit, catalog
from llm.engine import fit, leases
from llm.models import Counter, Lease
from llm.engine.ollama import ModelNotFound, OllamaError, client

# How long Ollama gets to drop a model from /api/ps after being told to unload it,
# and how often we look.
UNLOAD_CONFIRM_SECONDS = 30
UNLOAD_POLL_SECONDS = 0.05


class EngineBusy(Exception):
    """Someone else held the engine for longer than we were willing to wait."""


@contextmanager
def engine(wait=0.0):
    """Hold the engine lease: yields a holder id, or None when it stayed busy.

    Letting go of it wakes the worker if requests wait: one stored meanwhile
    found the engine taken (its task returned at once), and nothing else would
    start it before the safety-net schedule. Every holder (the worker, /switch,
    /unload, /queue/process, the doors' loads, the dashboard) comes through here.
    """
    from llm.queue import tasks  # it imports the runner, which imports this module

    held = False
    try:
        with leases.hold(Lease.ENGINE, wait=wait) as holder:
            held = holder is not None
            yield holder
    finally:
        if held:
            tasks.engine_released()


def resident_tags():
    return [_tag_of(model) for model in client().ps()]


def _tag_of(model):
    return catalog.normalize_tag(model.get("model") or model["name"])


def current_model():
    """The catalog name of the model in memory now, or None."""
    resident = resident_tags()
    return catalog.name_for_tag(resident[0]) if resident else None


def ensure_loaded(tag):
    """Make `tag` the one resident model. Call it only while holding `engine()`.

    Returns True when it had to load the model (a swap or a cold start).
    """
    wanted = catalog.normalize_tag(tag)
    resident_models = client().ps()
    resident = [_tag_of(model) for model in resident_models]
    others = [other for other in resident if other != wanted]
    if wanted not in resident:
        # Refuse before unloading anything: a model that is missing or cannot fit
        # should not cost the one that is loaded.
        installed = client().tags()
        if wanted not in [_tag_of(model) for model in installed]:
            raise ModelNotFound(f"Model {catalog.name_for_tag(tag)} is not installed in Ollama; pull it first", 404)
        fit.check_memory(tag, installed, resident_models)
    _unload(others)
    if wanted in resident:
        return False
    started = time.monotonic()
    client().load(tag, settings.LLM_KEEP_ALIVE)
    _record_load(catalog.name_for_tag(tag), time.monotonic() - started, [catalog.name_for_tag(o) for o in others])
    return True


def _record_load(name, seconds, unloaded):
    """Note a load where it happens: an audit entry ("model.load", by the service) and /metrics' totals."""
    with transaction.atomic():
        audit.record(audit.Action.MODEL_LOAD, name, seconds=round(seconds, 6), swap=bool(unloaded), unloaded=unloaded)
        Counter.add("llm_model_loads", model=name)
        Counter.add("llm_model_load_seconds", seconds, model=name)
        Counter.add("llm_model_swaps", 1 if unloaded else 0, model=name)


def unload_all():
    """Free the memory now. Call it only while holding `engine()`."""
    resident = resident_tags()
    _unload(resident)
    return [catalog.name_for_tag(tag) for tag in resident]


def unload(wait):
    """Free the model's memory now (the dashboard's Unload); returns the names unloaded."""
    with engine(wait=wait) as holder:
        if holder is None:
            raise EngineBusy(f"Could not unload: another request held the model for over {wait:g}s")
        return unload_all()


def switch_to(name, wait):
    entry = catalog.get(name)
    with engine(wait=wait) as holder:
        if holder is None:
            raise EngineBusy(f"Could not switch to {name}: another request held the model for over {wait:g}s")
        ensure_loaded(entry.tag)


def _unload(tags):
    for tag in tags:
        client().unload(tag)
    deadline = time.monotonic() + UNLOAD_CONFIRM_SECONDS
    while tags:
        still = set(tags) & set(resident_tags())
        if not still:
            return
        if time.monotonic() >= deadline:
            raise OllamaError(f"Ollama still holds {', '.join(sorted(still))} in memory after being told to unload it")
        time.sleep(UNLOAD_POLL_SECONDS)
