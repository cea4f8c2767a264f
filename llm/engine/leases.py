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

    While held, a thread renews the lease every third of its life; if this
    process dies, renewals stop and the lease runs out for the next taker.
    """
    holder = new_holder_id()
    seconds = settings.LLM_LEASE_SECONDS
    deadline = time.monotonic() + wait
    while not (Lease.try_acquire(name, holder, seconds) or _take_from_the_dead(name, holder, seconds)):
        if time.monotonic() >= deadline:
            yield None
            return
        time.sleep(min(RETRY_SECONDS, max(deadline - time.monotonic(), 0)))
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(name, holder, seconds, stop), daemon=True)
    renewer.start()
    try:
        yield holder
    finally:
        stop.set()
        renewer.join(timeout=2)
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


def _renew(name, holder, seconds, stop):
    try:
        while not stop.wait(seconds / 3):
            if not Lease.renew(name, holder, seconds):
                log.error("Lost the %s lease (held by %s): it ran out before it was renewed", name, holder)
                return
    finally:
        connection.close()
