"""The queue policy: which waiting generation runs next.

LLM_SCHEDULER chooses it:

- ``fifo``: first come, first served. Clients that ask for different models make
  the box load a model for almost every request.
- ``swap-aware`` (the default): loading a model costs seconds, so while requests
  for the loaded model wait, one of them runs; when none does, the model of the
  oldest waiting request is loaded. Two rules keep anyone from starving:
  * aging: once a request has been passed over (a younger one started before
    it) for LLM_MAX_EXTRA_WAIT_SECONDS, no younger request starts before it:
    from then on it waits only for those that came before it, as under FIFO.
    The oldest waiting request is always the first to reach the bound, so the
    rule is "the oldest runs next, whatever its model, once it is overdue";
  * fairness: among the requests for the loaded model, the token served least
    recently goes first, so one client's burst does not hold back the others.

The policy reads our own table only, never the broker's order and never Ollama:
the loaded model is the model of the request that started last (found among the
HISTORY requests stored before the oldest waiting one, or the HISTORY latest;
were more than that to have passed it over, the guess costs one extra load).
In a fleet (several LLM_NODES), llm/queue/fleet.py asks the policy once per
node, with that node's model as the loaded one (`first_pick()`).
`plan()` is the
policy itself, a function over plain rows; `next_pk()` and
`queue_position()` both read it, so the place a client is told is the order
the worker follows (until newer requests arrive).
"""

from bisect import bisect_right
from collections import defaultdict, deque
from datetime import timedelta
from datetime import timezone as dt_timezone
from typing import NamedTuple

from django.conf import settings
from django.db.models import Subquery, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from llm.engine import nodes
from llm.models import GenerationRequest, rows

FIFO = "fifo"
SWAP_AWARE = "swap-aware"
POLICIES = (SWAP_AWARE, FIFO)

# Besides every request stored since the oldest waiting one, the policy reads the
# HISTORY stored just before it and the HISTORY latest: among them is the one
# that started last (whose model is loaded) and the tokens served lately.
HISTORY = 50


class Row(NamedTuple):
    """What the policy knows of a request. Arrival order is the order rows were stored (pk)."""

    pk: int
    model: str
    token: int | None
    started_at: object = None  # None: still waiting
    finished_at: object = None
    node: str = ""  # where it ran ("": the first node, for rows older than the fleet)


def next_pk(node=None):
    """The pk of the waiting request to run next (on `node`, in a fleet: llm/queue/fleet.py), or
    None: the worker claims it by pk, reading the row as it claims it."""
    if nodes.is_fleet():
        from llm.queue import fleet

        return fleet.next_for(node or nodes.first())
    oldest = _oldest_waiting()
    if settings.LLM_SCHEDULER == FIFO or len(oldest) < 2:
        return oldest[0] if oldest else None  # one waiting runs next, whatever the policy
    first = next(_planned(), None)
    return first.pk if first else None


def _oldest_waiting():
    """The pks of the two oldest waiting requests: one statement, where the plan reads a hundred rows."""
    return [pk for (pk,) in _OLDEST_WAITING.values()]


_OLDEST_WAITING = rows.Query(lambda: GenerationRequest.objects.waiting().order_by("pk").values_list("pk")[:2])


def queue_position(request):
    """1-based place among the requests not yet started (None once started)."""
    if request.status != GenerationRequest.Status.QUEUED:
        return None
    if settings.LLM_SCHEDULER == FIFO and not nodes.is_fleet():
        return GenerationRequest.objects.waiting().filter(pk__lt=request.pk).count() + 1
    for place, row in enumerate(_planned(), start=1):
        if row.pk == request.pk:
            return place
    return 1  # started since the caller read it: it was first in line


def queue_positions():
    """{pk: 1-based place} for every waiting request, in one pass (for pages listing them all)."""
    if settings.LLM_SCHEDULER == FIFO and not nodes.is_fleet():
        pks = GenerationRequest.objects.waiting().order_by("pk").values_list("pk", flat=True)
        return {pk: place for place, pk in enumerate(pks, start=1)}
    return {row.pk: place for place, row in enumerate(_planned(), start=1)}


def queue_length():
    """Requests waiting; the one running is not counted. Every generation asks it (the queue's
    bound, the answer's queue_length), so its SQL is made once."""
    return _WAITING.count()


_WAITING = rows.Query(lambda: GenerationRequest.objects.waiting().order_by().values("pk"))


LAST_STARTED = object()  # plan()'s `loaded`: the model of the request that started last


def plan(waiting, started, now, max_extra_wait, seconds_per_pick=0.0, loaded=LAST_STARTED):
    """Yield the `waiting` rows in the order the swap-aware policy starts them.

    `started` are rows of requests that did start, the latest among them; `now`
    is when the first pick happens, and each later one is taken to come
    `seconds_per_pick` after the one before (which is what lets a request reach
    its bound in the middle of the plan). `loaded`: the model in memory (a node's,
    in a fleet: llm/queue/fleet.py); by default the model of the latest start.
    """
    queue = sorted(waiting, key=lambda row: row.pk)
    started = sorted(started, key=lambda row: row.started_at)
    bound, step = timedelta(seconds=max_extra_wait), timedelta(seconds=seconds_per_pick)
    if loaded is LAST_STARTED:
        loaded = started[-1].model if started else None
    served = {row.token: (row.started_at, 0) for row in started}  # token: when it last started a request
    passed_over = PassedOver(started)
    lines = defaultdict(dict)  # model: {token: its waiting requests, oldest first}
    for row in queue:
        lines[row.model].setdefault(row.token, deque()).append(row)
    gone, clock = set(), now
    for head in queue:
        while head.pk not in gone:
            since = passed_over.since(head.pk)
            chosen = _pick(head, since is not None and clock - since >= bound, lines, loaded, served)
            line = lines[chosen.model]
            line[chosen.token].popleft()
            if not line[chosen.token]:
                del line[chosen.token]
            gone.add(chosen.pk)
            served[chosen.token], loaded = (clock, len(gone)), chosen.model
            passed_over.record(chosen.pk, clock)
            clock += step
            yield chosen


def first_pick(waiting, started, now, max_extra_wait, loaded):
    """The first row `plan()` would yield, without planning the rest: the fleet asks it for
    each free node, many times over when it plays the order forward (llm/queue/fleet.py)."""
    if not waiting:
        return None
    head = min(waiting, key=lambda row: row.pk)
    served = {}  # token: when it last started a request
    for row in started:
        if row.token not in served or row.started_at > served[row.token][0]:
            served[row.token] = (row.started_at, 0)
    lines = defaultdict(dict)
    for row in sorted(waiting, key=lambda row: row.pk):
        if row.model in (loaded, head.model):
            lines[row.model].setdefault(row.token, deque()).append(row)
    return _pick(head, head.pk < overdue_below(started, now, max_extra_wait), lines, loaded, served)


def overdue_below(started, now, max_extra_wait):
    """Waiting requests with a pk below this one are overdue: a younger request started before
    them at least `max_extra_wait` seconds ago (so the overdue ones are the oldest, always)."""
    cutoff = now - timedelta(seconds=max_extra_wait)
    return max((row.pk for row in started if row.started_at <= cutoff), default=0)


def _pick(head, overdue, lines, loaded, served):
    """The rule: the oldest waiting request once it is overdue; else, among the requests for the
    loaded model (or, with none, for the oldest request's model), the least recently served token's."""
    if overdue:
        return head
    return _least_recently_served(lines[loaded] or lines[head.model], served)


def _least_recently_served(line, served):
    """The oldest request of the token that waited longest since it was last served."""
    token = min(line, key=lambda t: (t in served, served.get(t), line[t][0].pk))
    return line[token][0]


class PassedOver:
    """When a waiting request was first passed over: the earliest start of a request stored after it."""

    def __init__(self, started):
        by_arrival = sorted(started, key=lambda row: row.pk)
        self.pks = [row.pk for row in by_arrival]
        self.earliest_after = []  # [i]: the earliest start among by_arrival[i:]
        earliest = None
        for row in reversed(by_arrival):
            earliest = row.started_at if earliest is None else min(earliest, row.started_at)
            self.earliest_after.append(earliest)
        self.earliest_after.reverse()
        self.planned, self.first_younger = [], 0  # (pk, when) of the picks planned so far, in order

    def since(self, pk):
        """Ask with pks that never decrease (the oldest waiting request, as the plan goes on)."""
        index = bisect_right(self.pks, pk)
        earliest = self.earliest_after[index] if index < len(self.pks) else None
        while self.first_younger < len(self.planned) and self.planned[self.first_younger][0] <= pk:
            self.first_younger += 1
        if self.first_younger < len(self.planned):
            when = self.planned[self.first_younger][1]
            earliest = when if earliest is None else min(earliest, when)
        return earliest

    def record(self, pk, when):
        self.planned.append((pk, when))


def _planned():
    """The waiting requests in the order the swap-aware policy will start them."""
    if nodes.is_fleet():
        from llm.queue import fleet

        return fleet.planned()
    waiting, started = read_rows()
    return plan(
        waiting,
        started,
        now=timezone.now(),
        max_extra_wait=settings.LLM_MAX_EXTRA_WAIT_SECONDS,
        seconds_per_pick=typical_seconds(started),
    )


def read_rows():
    """One query: every request since HISTORY before the oldest waiting one, or the HISTORY latest."""
    waiting, started = [], []
    for pk, model, token, started_at, finished_at, status, node in _WINDOW.values():
        if status == GenerationRequest.Status.QUEUED:
            waiting.append(Row(pk, model, token))
        elif started_at is not None:
            started.append(Row(pk, model, token, _aware(started_at), _aware(finished_at), node))
    return waiting, started


def _window():
    """The query of `read_rows`, compiled once (`_WINDOW`).

    Run raw, it skips compiling the query and converting every row, which
    would otherwise cost more than the query itself: every queued answer pays it.
    """
    requests = GenerationRequest.objects
    oldest_waiting = requests.waiting().order_by("pk").values("pk")[:1]
    history_start = requests.exclude(status=GenerationRequest.Status.QUEUED).order_by("-pk").values("pk")
    start = Least(
        Coalesce(Subquery(oldest_waiting), Value(2**62)) - HISTORY,
        Coalesce(Subquery(history_start[HISTORY - 1 : HISTORY]), Value(0)),
    )
    return requests.filter(pk__gte=start).order_by().values_list(
        "pk", "model", "token_id", "started_at", "finished_at", "status", "node"
    )


_WINDOW = rows.Query(_window)


def _aware(value):
    """A datetime column as SQLite gives it (naive, UTC; text without Django's converter) or
    PostgreSQL does (aware). Every queued answer reads a hundred of them: a plain `replace`."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt_timezone.utc)
    return value


def typical_seconds(started):
    """How long recent generations took, start to end (0 when none finished yet)."""
    took = [(row.finished_at - row.started_at).total_seconds() for row in started if row.finished_at]
    return sum(took) / len(took) if took else 0.0
