"""Holding a database Lease for as long as a block of code runs."""

import logging
import os
import socket
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from llm.models import Lease

log = logging.getLogger(__name__)

# How often a caller willing to wait tries again for a taken lease.
RETRY_SECONDS = 0.05


def new_holder_id():
    """Who holds a lease, host:pid:random: readable in the admin, unique per acquisition.
    The host part is what lets a holder's liveness be judged by its PID on its own host only."""
    return f"{host_id()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def host_id():
    """This host's name in lease holders (LLM_HOST_ID, else the hostname)."""
    return settings.LLM_HOST_ID or socket.gethostname()


@contextmanager
def hold(name, wait=0.0):
    """Yield a holder id once the lease is ours, or None if it stayed taken for `wait` seconds.

    While held, the process's renewing thread renews it every third of its
    life; if this process dies, renewals stop and the lease runs out for the
    next taker.
    """
    holder = new_holder_id()
    seconds = settings.LLM_LEASE_SECONDS
    deadline = time.monotonic() + wait
    while not (Lease.try_acquire(name, holder, seconds) or _take_from_the_dead(name, holder, seconds)):
        if time.monotonic() >= deadline:
            yield None
            return
        time.sleep(min(RETRY_SECONDS, max(deadline - time.monotonic(), 0)))
    _renewer().add(name, holder, seconds)
    try:
        yield holder
    finally:
        _renewer().discard(name, holder)
        Lease.release(name, holder)


def _take_from_the_dead(name, holder, seconds):
    """Take a lease whose holder was a process on this host that no longer runs.

    A killed worker's lease would otherwise block everyone until it runs out;
    after a restart on the same box we can tell at once that its holder is gone.
    A holder on another host (worker hosts sharing one PostgreSQL) is judged by
    expiry alone: its PID means nothing here.
    """
    current = Lease.current_holder(name)
    if current is None:
        return False
    host, _, rest = current.partition(":")
    pid = rest.partition(":")[0]
    if host != host_id() or not pid.isdigit() or _alive(int(pid)):
        return False
    log.warning("Taking the %s lease from %s, which is no longer running", name, current)
    return Lease.take_over(name, current, holder, seconds)


def runs_out_elsewhere(names):
    """When the soonest of the leases `names` held from another host runs out (None: none is).

    No wake-up from there reaches this host when its holder lets go, and a holder that died
    there never lets go: its lease only runs out (it is renewed every third of its life while
    its holder lives)."""
    return Lease.objects.filter(name__in=names, expires_at__gt=timezone.now()).exclude(holder="").exclude(
        holder__startswith=f"{host_id()}:").order_by("expires_at").values_list("expires_at", flat=True).first()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    # A killed child whose parent died too stays a zombie until init reaps it
    # (in a container, maybe never): it answers signals but runs nothing.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


class Renewer(threading.Thread):
    """One thread a process renews every lease the process holds, for the process's life.

    A thread a hold would cost every request a thread's start and join; this
    one sleeps until the next renewal is due. Renewals happen under the lock,
    so once `discard()` returns no renewal of that lease is on its way.
    """

    def __init__(self):
        super().__init__(name="lease-renewer", daemon=True)
        self.lock = threading.Lock()
        self.changed = threading.Event()
        self.held = {}  # (name, holder) -> (seconds, when the next renewal is due)
        self.wakes_at = None  # when the thread looks next by itself (None: only when told)

    def add(self, name, holder, seconds):
        with self.lock:
            due = time.monotonic() + seconds / 3
            self.held[(name, holder)] = (seconds, due)
            sooner = self.wakes_at is None or due < self.wakes_at
        if sooner:  # else the thread looks before this renewal is due: no wake-up for each request
            self.changed.set()

    def discard(self, name, holder):
        with self.lock:
            self.held.pop((name, holder), None)

    def run(self):
        while True:
            with self.lock:
                due = self.wakes_at = min((at for _, at in self.held.values()), default=None)
            self.changed.wait(None if due is None else max(due - time.monotonic(), 0))
            self.changed.clear()
            with self.lock:
                now = time.monotonic()
                renewing = [(key, seconds) for key, (seconds, at) in self.held.items() if at <= now]
                for (name, holder), seconds in renewing:
                    if Lease.renew(name, holder, seconds):
                        self.held[(name, holder)] = (seconds, now + seconds / 3)
                    else:
                        log.error("Lost the %s lease (held by %s): it ran out before it was renewed", name, holder)
                        del self.held[(name, holder)]
                if renewing:
                    connection.close()  # renewals are rare: no connection kept open between them


_renewing = (None, None)  # (pid, Renewer): a forked child starts its own


def _renewer():
    global _renewing
    pid, renewer = _renewing
    if pid != os.getpid():
        with _starting:
            pid, renewer = _renewing
            if pid != os.getpid():
                renewer = Renewer()
                renewer.start()
                _renewing = (os.getpid(), renewer)
    return renewer


_starting = threading.Lock()
