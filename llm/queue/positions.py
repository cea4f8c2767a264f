"""Where the waiting requests stand: read once per change of the queue, shared by the whole process.

With 400 tokens waiting, ordering the queue (llm/queue/policy.py) takes ~11 ms; a thousand
streams each asking for their place every second would burn seconds of CPU per second.
So one `Board` per process keeps the last order. It looks whether the queue changed (one
small query: the unfinished requests and their status) whenever GET requests/<id> answers
with a place, and for the waiting clients at most once per CHECK_SECONDS; it orders the queue
again only when the answer differs (or after REORDER_SECONDS, for the aging rule, which moves
with the clock). A 202's place, and a stream's first, come from a look begun after the request
was stored (one look for all the requests stored meanwhile: a burst of 16 clients took turns
on the board's lock, each ordering the queue again, 80 requests/s); a stream's later places from
the last look, which one waiter renews for all.
"""

import threading
import time
from typing import NamedTuple

from django.utils import timezone

from llm.models import GenerationRequest, rows
from llm.queue import policy

CHECK_SECONDS = 0.5
REORDER_SECONDS = 5.0


class Snapshot(NamedTuple):
    places: dict  # pk: 1-based place of each waiting request
    running: frozenset  # pks of the requests running
    length: int  # requests waiting
    newest: int  # the highest pk the board saw (0: none)

    def place(self, pk):
        """A waiting request's place: the end of the line for one stored since the board looked,
        1 for one gone from the line since the caller read it (it was first)."""
        if pk > self.newest:
            return self.length + 1
        return self.places.get(pk, 1)

    def moved(self, pk, queued):
        """True when the request is no longer where its reader last saw it (`queued` or running)."""
        if pk > self.newest:
            return False  # stored after the board looked: it knows nothing of it yet
        return pk not in self.places if queued else pk not in self.running


class Board:
    def __init__(self):
        self.lock = threading.Lock()
        self.snapshot = None
        self.signature = None
        self.checked_at = self.ordered_at = float("-inf")
        self.checked_wall = None  # when the board last looked, by the clock requests are stamped with
        self.looking = False  # a waiter has the board look again now (llm/queue/follow.py)

    def cached(self, since=None):
        """The snapshot if the board looked less than CHECK_SECONDS ago (and after `since`, a
        request's created_at), else None."""
        snapshot, checked_wall = self.snapshot, self.checked_wall
        if snapshot is None or time.monotonic() - self.checked_at >= CHECK_SECONDS:
            return None
        if since is not None and (checked_wall is None or checked_wall < since):
            return None
        return snapshot

    def current(self, check=True, since=None):
        """The snapshot, looked at again first (with `check`) or when `cached(since)` would give None. Sync: DB."""
        with self.lock:
            if not check and (snapshot := self.cached(since)) is not None:
                return snapshot
            now, wall = time.monotonic(), timezone.now()
            # The highest pk stored, finished or not, read first: a request at or under it that is
            # not among the rows has ended (the unfinished rows alone would say nothing of one
            # that ended while the queue emptied, and its waiter would never look again).
            newest = next(iter(_NEWEST.values()), (0,))[0]
            unfinished = tuple(_UNFINISHED.values())
            if unfinished != self.signature or now - self.ordered_at >= REORDER_SECONDS:
                places = policy.queue_positions()
                running = frozenset(pk for pk, status in unfinished if status == GenerationRequest.Status.RUNNING)
                self.snapshot = Snapshot(places, running, len(places), newest)
                self.signature, self.ordered_at = unfinished, now
            elif newest != self.snapshot.newest:
                self.snapshot = self.snapshot._replace(newest=newest)
            self.checked_at, self.checked_wall = now, wall
            return self.snapshot


board = Board()

# Asked by every look (a waiting client's, about once a second): compiled once.
_NEWEST = rows.Query(lambda: GenerationRequest.objects.order_by("-pk").values_list("pk")[:1])
_UNFINISHED = rows.Query(lambda: GenerationRequest.objects.unfinished().order_by("pk").values_list("pk", "status"))


def queue_standing(generation, shared=False):
    """(the request's place in line, None once started; how many wait), from one look of the board,
    as policy.queue_position orders them. `shared` (a 202): a look of the last CHECK_SECONDS begun
    after the request was stored will do, so a burst of requests stored at once shares one look
    where each took its own, in turn, under the board's lock. Else (GET requests/<id>) it looks now."""
    snapshot = board.current(check=False, since=generation.created_at) if shared else board.current()
    queued = generation.status == GenerationRequest.Status.QUEUED
    return (snapshot.place(generation.pk) if queued else None), snapshot.length
