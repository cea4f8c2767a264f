"""One wake-up socket per web process, for all its waiting clients: the hub.

A web process holds many waiting clients at once (llm/doors/waiting.py, llm/queue/follow.py),
so it has one socket for all of them, `hub.<random>` in LLM_RUN_DIR: `wakeups.notify()` writes
a channel's name there, `wakeups.tell()` a stream's news with it, and the `Hub` hands the
wake-up to the waiters of that channel (`hub().waiter(channel)`), sync or async. It reads its
socket on the web server's event loop (`serve_on`), else on a thread of its own. A thousand
waiters cost one socket, not a thousand.
"""

import asyncio
import atexit
import os
import socket
import threading
import uuid
from collections import defaultdict, deque

from llmsite import datadir
from llm.queue.wakeups import FOLLOWING, HUB, NEWS_LIMIT, across_hosts, run_dir, wake_here

_hub = None
_hub_lock = threading.Lock()
_server_loop = None  # (loop, its thread's ident): the web server's event loop, where the hub reads


def serve_on(loop):
    """Have this process's hub read its socket on `loop`, the running event loop of the web server
    (llmsite/asgi.py), rather than on a thread of its own: a wake-up then wakes one thread, not
    two, and resolves its waiters there without a hop (a stream's news come ten times a second).
    Call it from the loop's thread, before the hub is first used."""
    global _server_loop
    _server_loop = (loop, threading.get_ident())


def current():
    """This process's hub if it has one (None after a fork: the parent's is not ours)."""
    found = _hub
    return found if found is not None and found.pid == os.getpid() else None


def hub():
    """This process's hub, started at first use (after a fork, a move of LLM_RUN_DIR, or the end
    of the loop it read on: a new one)."""
    global _hub
    with _hub_lock:
        if _hub is None or _hub.pid != os.getpid() or _hub.path.parent != run_dir() or \
                (_hub.loop is not None and _hub.loop.is_closed()):
            if _hub is not None and _hub.pid == os.getpid():
                _hub.close()
            _hub = Hub()
        return _hub


class Hub:
    """One socket for every waiter of the process, read on the web server's event loop, or by a
    thread of its own in a blocking recv() loop: no select() or poll() on any descriptor,
    whatever their numbers."""

    def __init__(self):
        self.pid = os.getpid()
        self.path = run_dir() / f"{HUB}.{uuid.uuid4().hex[:10]}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.path.chmod(datadir.FILE_MODE)
        self.waiters = defaultdict(set)  # channel: its Waiters
        self.lock = threading.Lock()
        atexit.register(self.path.unlink, missing_ok=True)
        self.loop, self.loop_thread = _server_loop if _server_loop and not _server_loop[0].is_closed() else (None, None)
        if self.loop is not None:
            self.sock.setblocking(False)
            self.loop.call_soon_threadsafe(self.loop.add_reader, self.sock, self._readable)
        else:
            threading.Thread(target=self._listen, name="llm-wakeups", daemon=True).start()
        if remote := across_hosts():
            remote.relay(wake_here)

    def waiter(self, channel, news=False):
        return Waiter(self, channel, news)

    def close(self):
        self.path.unlink(missing_ok=True)
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop_reading)
        else:
            self.sock.close()  # its thread's recv() fails and the thread ends

    def _stop_reading(self):
        self.loop.remove_reader(self.sock)
        self.sock.close()

    def _listen(self):
        while True:
            try:
                message = self.sock.recv(NEWS_LIMIT + 1024)
            except OSError:
                return  # closed
            self._deliver(message)

    def _readable(self):
        """On the loop: every wake-up that came."""
        while True:
            try:
                message = self.sock.recv(NEWS_LIMIT + 1024)
            except BlockingIOError:
                return
            except OSError:
                return  # closed meanwhile
            self._deliver(message)

    def _deliver(self, message):
        channel, _, news = message.partition(b"\n")
        self.dispatch(channel.decode(errors="replace"), news or None)

    def dispatch(self, channel, news=None):
        """Wake the waiters of `channel` (all of them for None), with its `news` if any."""
        with self.lock:
            if channel is None:
                waiters = {waiter for group in self.waiters.values() for waiter in group}
            else:
                waiters = list(self.waiters.get(channel, ()))
        for waiter in waiters:
            waiter.wake(news)


class Waiter:
    """A subscription to one channel through the hub: `wait()` from a thread, `await until()` from
    a loop. With `news`, it keeps what each wake-up brought for `take_news()`."""

    def __init__(self, hub, channel, news=False):
        self.hub, self.channel = hub, channel
        self.news = deque() if news else None
        # A wake-up of `a` is one of `a.b` too: a stream of a request's text hears its end.
        parts = channel.split(".")
        self.channels = [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
        # Sub-channels (a request's text) say in LLM_RUN_DIR that someone follows them (`listening`).
        self.marker = run_dir() / FOLLOWING / f"{channel}.{hub.path.suffix[1:]}" if len(parts) > 1 else None
        self.woken = False
        self.event = None  # (loop, future) while an async wait is on
        self.blocking = None  # a threading.Event, made at the first wait() from a thread

    def __enter__(self):
        with self.hub.lock:
            for channel in self.channels:
                self.hub.waiters[channel].add(self)
        if self.marker:
            self.marker.parent.mkdir(mode=datadir.DIR_MODE, exist_ok=True)
            self.marker.touch(mode=datadir.FILE_MODE)
        return self

    def __exit__(self, *exc_info):
        if self.marker:
            self.marker.unlink(missing_ok=True)
        with self.hub.lock:
            for channel in self.channels:
                waiters = self.hub.waiters[channel]
                waiters.discard(self)
                if not waiters:
                    del self.hub.waiters[channel]

    def wake(self, news=None):
        """From the hub (its thread or the server's loop): set the flag first, then look for a wait
        (see `wait`, `until`)."""
        if self.news is not None:
            self.news.append(news)  # None: a wake-up without news
        self.woken = True
        with _blocking_lock:
            blocking = self.blocking
        if blocking is not None:
            blocking.set()
        pending = self.event
        if pending is not None:
            loop, future = pending
            if loop is self.hub.loop and threading.get_ident() == self.hub.loop_thread:
                _resolve(future)  # the hub reads on this loop: no hop
                return
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:
                pass  # its loop closed meanwhile

    def wait(self, timeout):
        """Block this thread until a wake-up or `timeout` seconds; True if woken."""
        with _blocking_lock:  # a wake() either sees the event or left its flag for us to see
            if self.blocking is None:
                self.blocking = threading.Event()
            if self.woken:
                self.blocking.set()
        woken = self.blocking.wait(max(timeout, 0))
        self.blocking.clear()
        self.woken = False
        return woken

    def take_news(self):
        """What the wake-ups since the last call brought, oldest first (None for one without news)."""
        taken = []
        while self.news:
            taken.append(self.news.popleft())
        return taken

    async def until(self, timeout):
        """Wait without a thread until a wake-up or `timeout` seconds; True if woken.
        (A future and a timer: no task per wait, a thousand waiters wait cheaply.)"""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.event = (loop, future)  # before looking at the flag: no wake-up slips between
        timer = None
        try:
            if not self.woken:
                timer = loop.call_later(max(timeout, 0), _resolve, future)
                await future
            return self.woken
        finally:
            if timer is not None:
                timer.cancel()
            self.event = None
            self.woken = False


_blocking_lock = threading.Lock()  # the Waiters' threading.Events: made only for waits from a thread


def _resolve(future):
    if not future.done():
        future.set_result(None)

