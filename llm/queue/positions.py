"""Where the waiting requests stand: read once per change of the queue, shared by the whole process.

With 400 tokens waiting, ordering the queue (llm/queue/policy.py) takes ~11 ms; a thousand
streams each asking for their place every second would burn seconds of CPU per second.
So one `Board` per process keeps the last order. It looks whether the queue changed (one
small query: the unfinished requests and their status) when asked after a wake-up or a
change made by this process, or after CHECK_SECONDS; it orders the queue again only when
the answer differs (or after REORDER_SECONDS, for the aging rule, which moves with the clock).
Waiters that stream read the board without a query when it is fresh (`cached`).
"""

import threading
import time
from typing import NamedTuple

from llm.models import GenerationRequest
from llm.queue import policy, wakeups

CHECK_SECONDS = 0.5
REORDER_SECONDS = 5.0


class Snapshot(NamedTuple):
    places: dict  # pk: 1-based place of each waiting request
    running: frozenset  # pks of the requests running
    length: int  # requests waiting

    def place(self, pk):
        """A waiting request's place; 1 for one just gone from the list (it was first in line)."""
        return self.places.get(pk, 1)

    def unfinished(self, pk):
        return pk in self.places or pk in self.running


class Board:
    def __init__(self):
        self.lock = threading.Lock()
        self.snapshot = None
        self.signature = None
        self.checked_at = self.ordered_at = float("-inf")
        self.seen = None  # the hub's count of changes when last checked

    def cached(self):
        """The snapshot if nothing this process heard of changed since, and it is recent; else None."""
        snapshot = self.snapshot
        if snapshot is None or self.seen != _changes() or time.monotonic() - self.checked_at >= CHECK_SECONDS:
            return None
        return snapshot

    def current(self, check=True):
        """The snapshot, looked at again first (with `check`) or when `cached` would give None. Sync: DB."""
        with self.lock:
            if not check and (snapshot := self.cached()) is not None:
                return snapshot
            seen, now = _changes(), time.monotonic()
            rows = tuple(GenerationRequest.objects.unfinished().order_by("pk").values_list("pk", "status"))
            if rows != self.signature or now - self.ordered_at >= REORDER_SECONDS:
                places = policy.queue_positions()
                running = frozenset(pk for pk, status in rows if status == GenerationRequest.Status.RUNNING)
                self.snapshot, self.signature, self.ordered_at = Snapshot(places, running, len(places)), rows, now
            self.checked_at, self.seen = now, seen
            return self.snapshot


def _changes():
    hub = wakeups._hub
    return hub.generation if hub is not None else None


board = Board()


def queue_position(generation):
    """Like policy.queue_position, from the shared board (None once started)."""
    if generation.status != GenerationRequest.Status.QUEUED:
        return None
    return board.current().place(generation.pk)


def queue_length():
    return board.current().length
