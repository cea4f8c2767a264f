"""Fleet scheduling: which node runs which waiting request, when LLM_NODES names several.

Each node holds one model and runs one request at a time. When nodes are free,
each takes the request the swap-aware policy (llm/queue/policy.py) picks for it,
with that node's model as the loaded one, among the requests it may take:

* its own model first: a node whose model has requests waiting chooses before
  the others, and the policy prefers that model;
* a model in memory on another node waits for that node (no second copy, no
  swap), unless the request is overdue (LLM_MAX_EXTRA_WAIT_SECONDS): then any
  free node takes it; or unless a node would otherwise stand idle while that
  model's line would keep its nodes busy for longer than two loads take: then
  the idle node loads a second copy and shares the line;
* a cold model (in memory nowhere) goes where a load costs least: a node with
  nothing in memory, then the one used least recently;
* a request runs only on a node that has its model installed (when no node
  that answers has it, any node may take it, and fails it saying so).

Fairness between tokens and the aging bound are the policy's, over the requests
started on every node. `order()` plays the same rules forward, node after node,
so `queue_position` is the place a request will start in, fleet-wide.
"""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from llm import catalog
from llm.engine import nodes as fleet_nodes
from llm.models import GenerationRequest
from llm.queue import policy

NEVER = datetime.min.replace(tzinfo=dt_timezone.utc)
# What a load is taken to cost on a node that has not loaded anything yet.
DEFAULT_LOAD_SECONDS = 5.0


class NodeView(NamedTuple):
    """What the scheduler knows of a node. Models are catalog names, as requests name them."""

    name: str
    loaded: str | None  # the model in memory
    busy: bool  # running a request
    live: bool  # in service and answering
    installed: frozenset | None  # None: not known yet
    last_used: datetime | None = None
    load_seconds: float = DEFAULT_LOAD_SECONDS  # what a load took there last


def assign(views, waiting, started, now, max_extra_wait, seconds_per_request=0.0):
    """{node name: the Row it starts now}, for every free live node that has something to take.

    `seconds_per_request`: how long a request runs, typically (for when sharing a line pays)."""
    overdue_below = policy.overdue_below(started, now, max_extra_wait)
    live = [view for view in views if view.live]
    held = {view.loaded: view.name for view in live if view.loaded}  # model: the node that has it
    wanted = {row.model for row in waiting}
    free = sorted(
        (view for view in live if not view.busy),
        key=lambda view: (view.loaded not in wanted, view.loaded is not None, view.last_used or NEVER),
    )
    chosen, taken = {}, set()
    for view in free:
        # The models this node may take: installed here, and its own or held by no other node.
        open_to = {
            model for model in wanted
            if _may_run(view, model, live) and (model == view.loaded or held.get(model, view.name) == view.name)
        }
        mine = [
            row for row in waiting
            if row.pk not in taken
            and (row.model in open_to or (row.pk < overdue_below and _may_run(view, row.model, live)))
        ]
        first = policy.first_pick(mine, started, now, max_extra_wait, view.loaded)
        if first is None:
            first = _share_a_long_line(view, waiting, taken, live, chosen, seconds_per_request)
        if first is not None:
            chosen[view.name] = first
            taken.add(first.pk)
            held = {model: name for model, name in held.items() if name != view.name}
            held[first.model] = view.name
    return chosen


def _share_a_long_line(view, waiting, taken, live, chosen, seconds_per_request):
    """For a node with nothing else to take: the oldest request of the model whose line would
    keep the nodes that hold it busy longest, if that is longer than two loads here."""
    lines = {}
    for row in waiting:
        if row.pk not in taken and _may_run(view, row.model, live):
            lines.setdefault(row.model, []).append(row)
    best, longest = None, 2 * view.load_seconds
    for model, line in lines.items():
        holders = sum(other.loaded == model or getattr(chosen.get(other.name), "model", None) == model
                      for other in live)
        busy_for = len(line) * seconds_per_request / max(holders, 1)
        if busy_for > longest:
            best, longest = line, busy_for
    return min(best, key=lambda row: row.pk) if best else None


def order(views, waiting, started, now, max_extra_wait, seconds_per_pick):
    """Yield the `waiting` rows in the order the fleet will start them (each run taken to
    last `seconds_per_pick`)."""
    step = timedelta(seconds=max(seconds_per_pick, 0.001))
    views = {view.name: view for view in views}
    free_at = {name: now + (step if view.busy else timedelta(0)) for name, view in views.items() if view.live}
    waiting, started = sorted(waiting, key=lambda row: row.pk), list(started)
    while waiting and free_at:
        clock = min(free_at.values())
        current = [view._replace(busy=free_at.get(name, clock) > clock) for name, view in views.items()]
        chosen = assign(current, waiting, started, clock, max_extra_wait, seconds_per_pick)
        if not chosen:
            later = [when for when in free_at.values() if when > clock]
            if not later:
                break  # nothing any node may take: the rest keep their arrival order
            for name in free_at:
                free_at[name] = max(free_at[name], min(later))
            continue
        for name, row in sorted(chosen.items(), key=lambda item: item[1].pk):
            yield row
            waiting.remove(row)
            started.append(row._replace(started_at=clock, node=name))
            views[name] = views[name]._replace(loaded=row.model, last_used=clock)
            free_at[name] = clock + step
    yield from waiting


def read_views(started):
    """The nodes as the scheduler sees them: rows, requests running, and the latest starts."""
    first = fleet_nodes.first()
    running = set(GenerationRequest.objects.running().values_list("node", flat=True))
    last_started = {}
    for row in sorted(started, key=lambda row: row.started_at):
        last_started[row.node or first] = row.model
    views = []
    for node in fleet_nodes.all_nodes():
        loaded = last_started.get(node.name)
        if node.resident_seen_at is not None or loaded is None:
            # What the engine saw there beats our guess from the table (a /switch, an /unload).
            loaded = catalog.name_for_tag(node.resident) if node.resident else loaded
        installed = None if node.installed is None else frozenset(catalog.name_for_tag(t) for t in node.installed)
        busy = node.name in running or (node.name == first and "" in running)
        load_seconds = node.load_seconds if node.load_seconds is not None else DEFAULT_LOAD_SECONDS
        views.append(NodeView(node.name, loaded, busy, node.live, installed, node.last_used_at, load_seconds))
    return views


def next_for(node):
    """The pk of the waiting request node `node` should start now, or None (its lease held by the caller)."""
    waiting, started = policy.read_rows()
    views = [view._replace(busy=False) if view.name == node else view for view in read_views(started)]
    now, bound = timezone.now(), settings.LLM_MAX_EXTRA_WAIT_SECONDS
    row = assign(views, waiting, started, now, bound, policy.typical_seconds(started)).get(node)
    return row.pk if row else None


def planned():
    """The waiting requests in the order the fleet will start them."""
    waiting, started = policy.read_rows()
    return order(
        read_views(started), waiting, started, timezone.now(), settings.LLM_MAX_EXTRA_WAIT_SECONDS,
        policy.typical_seconds(started),
    )


def nodes_to_try():
    """Live nodes, the ones with the longest rest first (the worker tries their leases in turn)."""
    live = [node for node in fleet_nodes.all_nodes() if node.live]
    return [node.name for node in sorted(live, key=lambda node: node.last_used_at or NEVER)]


def others_can_run(model, node):
    """True when another live node has catalog model `model` installed (or may have it)."""
    tag = catalog.normalize_tag(catalog.get(model).tag)
    return any(
        other.live and (other.installed is None or tag in other.installed)
        for other in fleet_nodes.all_nodes()
        if other.name != node
    )


def node_for_switch(tag):
    """Where a /switch without a node loads `tag`: the node that has it already, else where a
    load costs least (nothing in memory, then used least recently), among those that have it."""
    names = fleet_nodes.names()
    if len(names) == 1:
        return names[0]
    wanted = catalog.normalize_tag(tag)
    live = [node for node in fleet_nodes.all_nodes() if node.live] or fleet_nodes.all_nodes()
    for node in live:
        if node.resident == wanted:
            return node.name
    having = [node for node in live if node.installed is None or wanted in node.installed] or live
    return min(having, key=lambda node: (bool(node.resident), node.last_used_at or NEVER)).name


def _may_run(view, model, live):
    if view.installed is None or model in view.installed:
        return True
    return not any(other.installed is None or model in other.installed for other in live)
