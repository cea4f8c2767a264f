"""Wake-ups between hosts, over PostgreSQL LISTEN/NOTIFY (LLM_WAKEUPS=postgres).

The Unix sockets of llm/queue/wakeups.py reach the processes of one box only: a
task stored through the web server of host A would wait for the pusher on host B
to poll the table (Q_POLL_SECONDS), and a request finished on B for the waiters
on A to poll theirs (LLM_POLL_SECONDS). With this setting, `wakeups.notify()`
also sends one NOTIFY on the database every host already shares, and each
process that listens for wake-ups holds one more connection, in a thread, that
LISTENs and hands what it hears to this process's own listeners and hub.

PostgreSQL, not Redis pub/sub: the fleet needs PostgreSQL anyway (the queue, the
leases), so this costs no new service nor dependency (psycopg is already there),
and a NOTIFY is as fast as a local round trip. Like the sockets, a NOTIFY only
says "look at the database now": one lost while a listener reconnects costs a
poll interval, and a reconnected listener wakes all of its process's listeners
once, in case it missed one.

A payload is `<origin> <channel>`, the origin being the sender's host and run
directory (one box): a box hears its own wake-ups over its sockets already, so
its listeners skip the NOTIFY they sent.
"""

import logging
import os
import threading
import time

import psycopg
from django.db import connections

from llm.engine.leases import host_id

log = logging.getLogger(__name__)

CHANNEL = "llm_wakeups"
RECONNECT_MAX_SECONDS = 30.0

_sender = None  # (pid, connection): one per process, in autocommit
_sender_lock = threading.Lock()
_relay = None
_relay_lock = threading.Lock()


def origin():
    from llm.queue.wakeups import run_dir

    return f"{host_id()}:{run_dir()}".replace(" ", "_")


def connect(**options):
    """A connection of its own to the database Django uses, in autocommit: a NOTIFY leaves at
    once, whatever transaction the caller is in, and a LISTEN is not held up by one."""
    params = connections["default"].settings_dict
    kwargs = {"dbname": params["NAME"], "user": params.get("USER"), "password": params.get("PASSWORD"),
              "host": params.get("HOST"), "port": params.get("PORT")}
    kwargs.update({key: value for key, value in params.get("OPTIONS", {}).items() if key.startswith("ssl")})
    kwargs.update(options)
    return psycopg.connect(**{k: v for k, v in kwargs.items() if v}, autocommit=True, connect_timeout=5)


def send(channel):
    """NOTIFY every other box of `channel`; False when the database could not be told (logged)."""
    global _sender
    with _sender_lock:
        try:
            if _sender is None or _sender[0] != os.getpid() or _sender[1].closed:
                _sender = (os.getpid(), connect())
            _sender[1].execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{origin()} {channel}"])
            return True
        except psycopg.Error as exc:
            log.warning("Wake-up %s not sent to other hosts: %s", channel, type(exc).__name__)
            if _sender is not None and _sender[0] == os.getpid():
                _sender[1].close()
            _sender = None
            return False


def relay(deliver):
    """This process's one listener of other boxes' wake-ups, started at first use (a new one after a fork)."""
    global _relay
    with _relay_lock:
        if _relay is None or _relay.pid != os.getpid():
            _relay = Relay(deliver)
            _relay.start()
        return _relay


class Relay(threading.Thread):
    """LISTEN on a dedicated connection and call `deliver(channel)` for each wake-up of another box,
    `deliver(None)` (wake everything) after each (re)connection; reconnect with backoff."""

    def __init__(self, deliver):
        super().__init__(name="llm-pg-wakeups", daemon=True)
        self.pid = os.getpid()
        self.deliver = deliver
        self.listening = threading.Event()  # set while LISTEN is on
        self.stopping = threading.Event()
        self.own = origin()

    def run(self):
        backoff = 0.5
        while not self.stopping.is_set():
            try:
                # Keepalives: a connection whose host vanished fails within ~a minute, not never.
                with connect(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    backoff = 0.5
                    self.deliver(None)  # anything sent while we were not listening
                    self.listening.set()
                    # No timeout: an idle process does not wake for nothing; `stop()` sends one to end it.
                    for note in conn.notifies():
                        if self.stopping.is_set():
                            break
                        self._hear(note.payload)
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("Wake-ups from other hosts: connection lost (%s), again in %.1fs",
                            type(exc).__name__, backoff)
                self.stopping.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)
        self.listening.clear()

    def _hear(self, payload):
        sender, _, channel = payload.rpartition(" ")
        if channel and sender != self.own:
            self.deliver(channel)

    def stop(self):
        self.stopping.set()
        try:
            with connect() as conn:  # an empty wake-up, which every relay skips, ends its wait
                conn.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{self.own} "])
        except psycopg.Error:
            pass  # no database: its thread is waiting to reconnect, and sees `stopping`


def close():
    """Stop this process's relay and close its sender (tests: their database is dropped after)."""
    global _relay, _sender
    with _relay_lock:
        if _relay is not None and _relay.pid == os.getpid():
            _relay.stop()
            _relay.join(timeout=5)
        _relay = None
    with _sender_lock:
        if _sender is not None and _sender[0] == os.getpid():
            _sender[1].close()
        _sender = None


def wait_listening(timeout):
    """True once this process's relay listens (tests and benchmarks: a NOTIFY before it is lost)."""
    deadline = time.monotonic() + timeout
    while _relay is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return _relay is not None and _relay.listening.wait(max(deadline - time.monotonic(), 0))
