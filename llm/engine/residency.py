"""The single-model rule, per node: each Ollama of the fleet holds at most one model in
memory and runs at most one generation, whoever asks.

Every path that can make a node load a model (the worker, /switch, /unload,
/queue/process, the doors' loads, the dashboard) does so inside `engine(node)`,
that node's lease in the database, so they take turns across processes; letting
go of it wakes the worker when requests wait. Inside it, `ensure_loaded()`
unloads whatever else is resident (keep_alive 0), waits until Ollama's /api/ps
confirms it is gone, and only then loads the wanted model with the configured
keep-alive.

The holder notes on the node's row what it left resident (llm.Node.resident),
so the next holder trusts it instead of asking /api/ps before every request; it
asks again after a load, after an error and once LLM_RESIDENT_CHECK_SECONDS passed
(a model Ollama unloaded on its own keep-alive is then simply loaded again).
"""

import time
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

from llm import audit, catalog
from llm.engine import fit, leases, nodes
from llm.models import Counter, Lease
from llm.engine.ollama import ModelNotFound, OllamaError

# How long Ollama gets to drop a model from /api/ps after being told to unload it,
# and how often we look.
UNLOAD_CONFIRM_SECONDS = 30
UNLOAD_POLL_SECONDS = 0.05


class EngineBusy(Exception):
    """Someone else held the engine for longer than we were willing to wait."""


@contextmanager
def engine(wait=0.0, node=None, wake=True):
    """Hold node `node`'s engine lease (None: the first node): yields a holder id, or None
    when it stayed busy.

    Letting go of it wakes the worker if requests wait: one stored meanwhile
    found the engine taken (its task returned at once), and nothing else would
    start it before the safety-net schedule. Every holder (the worker, /switch,
    /unload, /queue/process, the doors' loads, the dashboard) comes through here.
    `wake=False`: the caller wakes the worker itself if need be (the runner, when
    it held a node only to find it nothing to run).
    """
    from llm.queue import tasks  # it imports the runner, which imports this module

    held = False
    try:
        with leases.hold(Lease.engine(node or nodes.first()), wait=wait) as holder:
            held = holder is not None
            yield holder
    finally:
        if held and wake:
            tasks.engine_released()


def resident_tags(node=None):
    """What Ollama says node `node` holds in memory now (one /api/ps).

    Only the lease's holder writes down what it saw (a reader could write down what
    was true a moment before a holder changed it)."""
    return [_tag_of(model) for model in nodes.ollama(node or nodes.first()).ps()]


def _tag_of(model):
    return catalog.normalize_tag(model.get("model") or model["name"])


def current_model(node=None):
    """The catalog name of the model in memory on `node` now, or None."""
    resident = resident_tags(node)
    return catalog.name_for_tag(resident[0]) if resident else None


def ensure_loaded(tag, node=None, verify=False, row=None):
    """Make `tag` the one resident model of `node`. Call it only while holding `engine(node=node)`.

    Returns True when it had to load the model (a swap or a cold start). `verify`: ask
    Ollama even if the last holder left `tag` there a moment ago (an operator's switch:
    Ollama may have been restarted since, and the switch must load it). `row`: the node's
    row, if the caller has it.
    """
    row = row or nodes.get(node or nodes.first())
    wanted = catalog.normalize_tag(tag)
    if not verify and row.resident == wanted and row.resident_known():
        return False  # the last holder left it there, a moment ago: no /api/ps round trip
    ollama = nodes.ollama(row.name)
    resident_models = ollama.ps()
    resident = [_tag_of(model) for model in resident_models]
    others = [other for other in resident if other != wanted]
    if wanted not in resident:
        # Refuse before unloading anything: a model that is missing or cannot fit
        # should not cost the one that is loaded.
        installed = ollama.tags()
        row.saw_installed(_tag_of(model) for model in installed)
        if wanted not in row.installed:
            raise ModelNotFound(f"Model {catalog.name_for_tag(tag)} is not installed in Ollama; pull it first", 404)
        fit.check_memory(tag, installed, resident_models, local=fit.is_local(ollama.host))
    row.forget_resident()  # until the swap is over, nobody trusts the old word
    _unload(others, row.name)
    if wanted in resident:
        row.saw_resident(wanted)
        return False
    started = time.monotonic()
    ollama.load(tag, settings.LLM_KEEP_ALIVE)
    took = time.monotonic() - started
    row.loaded(wanted, took)
    _record_load(catalog.name_for_tag(tag), took, [catalog.name_for_tag(o) for o in others])
    return True


def _record_load(name, seconds, unloaded):
    """Note a load where it happens: an audit entry ("model.load", by the service) and /metrics' totals."""
    with transaction.atomic():
        audit.record(audit.Action.MODEL_LOAD, name, seconds=round(seconds, 6), swap=bool(unloaded), unloaded=unloaded)
        Counter.add_all([
            ("llm_model_loads", 1, {"model": name}),
            ("llm_model_load_seconds", seconds, {"model": name}),
            ("llm_model_swaps", 1 if unloaded else 0, {"model": name}),
        ])


def unload_all(node=None):
    """Free node `node`'s memory now. Call it only while holding `engine(node=node)`."""
    row = nodes.get(node or nodes.first())
    row.forget_resident()
    resident = resident_tags(row.name)
    _unload(resident, row.name)
    row.saw_resident("")
    return [catalog.name_for_tag(tag) for tag in resident]


def unload(wait, node=None):
    """Free the memory of `node` now (None: of every node); returns the names unloaded."""
    unloaded = []
    for name in [node] if node else nodes.names():
        with engine(wait=wait, node=name) as holder:
            if holder is None:
                raise EngineBusy(f"Could not unload: another request held the model for over {wait:g}s")
            unloaded += unload_all(name)
    return unloaded


def switch_to(name, wait, node=None):
    """Load catalog model `name` on `node` (None: where the fleet would run it, llm/queue/fleet.py)."""
    from llm.queue import fleet

    entry = catalog.get(name)
    node = node or fleet.node_for_switch(entry.tag)
    with engine(wait=wait, node=node) as holder:
        if holder is None:
            raise EngineBusy(f"Could not switch to {name}: another request held the model for over {wait:g}s")
        ensure_loaded(entry.tag, node, verify=True)
    return node


def _unload(tags, node):
    ollama = nodes.ollama(node)
    for tag in tags:
        ollama.unload(tag)
    deadline = time.monotonic() + UNLOAD_CONFIRM_SECONDS
    while tags:
        still = set(tags) & set(resident_tags(node))
        if not still:
            return
        if time.monotonic() >= deadline:
            raise OllamaError(f"Ollama still holds {', '.join(sorted(still))} in memory after being told to unload it")
        time.sleep(UNLOAD_POLL_SECONDS)
