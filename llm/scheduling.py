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
the loaded model is the model of the request that started last. `plan()` is the
policy itself, a function over plain rows; `next_request()` and
`queue_position()` both read it, so the place a client is told is the order
the worker follows (until newer requests arrive).
"""

from collections import defaultdict, deque
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import Q, Subquery, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from llm.models import GenerationRequest

FIFO = "fifo"
SWAP_AWARE = "swap-aware"
POLICIES = (SWAP_AWARE, FIFO)

# Started requests looked at, besides everything since the oldest waiting one
# arrived, to know the loaded model and which tokens were served lately.
HISTORY = 50


class Row(NamedTuple):
    pk: int
    model: str
    token: int | None
    created_at: object
    started_at: object = None  # None: still waiting
    finished_at: object = None

    @property
    def arrival(self):
        return (self.created_at, self.pk)


def next_request():
    """The waiting request to run next, or None."""
    if settings.LLM_SCHEDULER == FIFO:
        return GenerationRequest.objects.waiting().order_by("created_at", "pk").first()
    first = next(_planned(), None)
    return GenerationRequest.objects.filter(pk=first.pk).first() if first else None


def queue_position(request):
    """1-based place among the requests not yet started (None once started)."""
    if request.status != GenerationRequest.Status.QUEUED:
        return None
    if settings.LLM_SCHEDULER == FIFO:
        ahead = GenerationRequest.objects.waiting().filter(
            Q(created_at__lt=request.created_at) | Q(created_at=request.created_at, pk__lt=request.pk)
        )
        return ahead.count() + 1
    for place, row in enumerate(_planned(), start=1):
        if row.pk == request.pk:
            return place
    return 1  # started since the caller read it: it was first in line


def queue_positions():
    """{pk: 1-based place} for every waiting request, in one pass (for pages listing them all)."""
    if settings.LLM_SCHEDULER == FIFO:
        pks = GenerationRequest.objects.waiting().order_by("created_at", "pk").values_list("pk", flat=True)
        return {pk: place for place, pk in enumerate(pks, start=1)}
    return {row.pk: place for place, row in enumerate(_planned(), start=1)}


def queue_length():
    """Requests waiting; the one running is not counted."""
    return GenerationRequest.objects.waiting().count()


def plan(waiting, started, now, max_extra_wait, seconds_per_pick=0.0):
    """Yield the `waiting` rows in the order the swap-aware policy starts them.

    `started` are rows of requests that did start, the latest among them; `now`
    is when the first pick happens, and each later one is taken to come
    `seconds_per_pick` after the one before (which is what lets a request reach
    its bound in the middle of the plan).
    """
    queue = sorted(waiting, key=lambda row: row.arrival)
    started = sorted(started, key=lambda row: row.started_at)
    bound, step = timedelta(seconds=max_extra_wait), timedelta(seconds=seconds_per_pick)
    loaded = started[-1].model if started else None
    served = {row.token: (row.started_at, 0) for row in started}  # token: when it last started a request
    passed_over = _passed_over(queue, started)  # pk: when a younger request first started before it
    lines = defaultdict(lambda: defaultdict(deque))  # model: token: its requests, oldest first
    for row in queue:
        lines[row.model][row.token].append(row)
    picks, first_younger, gone, clock = [], 0, set(), now
    for head in queue:
        while head.pk not in gone:
            # The head was passed over when a younger request started, here or in this plan.
            while first_younger < len(picks) and picks[first_younger][1] <= head.arrival:
                first_younger += 1
            since = passed_over.get(head.pk)
            if first_younger < len(picks) and (since is None or picks[first_younger][0] < since):
                since = picks[first_younger][0]
            if since is not None and clock - since >= bound:
                chosen = head
            else:
                line = lines[loaded] if any(lines[loaded].values()) else lines[head.model]
                chosen = _least_recently_served(line, served)
            lines[chosen.model][chosen.token].popleft()
            gone.add(chosen.pk)
            served[chosen.token], loaded = (clock, len(picks) + 1), chosen.model
            picks.append((clock, chosen.arrival))
            clock += step
            yield chosen


def _least_recently_served(line, served):
    """The oldest request of the token that waited longest since it was last served."""
    tokens = [token for token, rows in line.items() if rows]
    token = min(tokens, key=lambda t: (t in served, served.get(t), line[t][0].arrival))
    return line[token][0]


def _passed_over(queue, started):
    """{pk of a waiting row: the earliest start among requests that arrived after it}."""
    result, earliest = {}, None
    events = sorted([*queue, *started], key=lambda row: row.arrival, reverse=True)
    for row in events:
        if row.started_at is not None:
            earliest = row.started_at if earliest is None else min(earliest, row.started_at)
        elif earliest is not None:
            result[row.pk] = earliest
    return result


def _planned():
    """The waiting requests in the order the swap-aware policy will start them."""
    waiting, started = _read_rows()
    return plan(
        waiting,
        started,
        now=timezone.now(),
        max_extra_wait=settings.LLM_MAX_EXTRA_WAIT_SECONDS,
        seconds_per_pick=_typical_seconds(started),
    )


def _read_rows():
    """One query: everything since the oldest waiting request arrived, and the last HISTORY started."""
    requests = GenerationRequest.objects
    oldest_waiting = requests.waiting().order_by("pk").values("pk")[:1]
    history_start = requests.exclude(status=GenerationRequest.Status.QUEUED).order_by("-pk").values("pk")
    start = Least(
        Coalesce(Subquery(oldest_waiting), Value(2**62)),
        Coalesce(Subquery(history_start[HISTORY - 1 : HISTORY]), Value(0)),
    )
    rows = requests.filter(pk__gte=start).values_list(
        "pk", "model", "token_id", "created_at", "started_at", "finished_at", "status"
    )
    waiting, started = [], []
    for pk, model, token, created_at, started_at, finished_at, status in rows.order_by():
        if status == GenerationRequest.Status.QUEUED:
            waiting.append(Row(pk, model, token, created_at))
        elif started_at is not None:
            started.append(Row(pk, model, token, created_at, started_at, finished_at))
    return waiting, started


def _typical_seconds(started):
    """How long recent generations took, start to end (0 when none finished yet)."""
    took = [(row.finished_at - row.started_at).total_seconds() for row in started if row.finished_at]
    return sum(took) / len(took) if took else 0.0
