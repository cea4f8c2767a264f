"""Wake-ups between the processes of one box, over Unix datagram sockets.

A wake-up only says "look at the database now": the database stays the record
of truth, so a lost wake-up costs one poll interval, never data. This is what
lets a waiting web request or an idle worker sleep without polling the
database many times a second, on SQLite and PostgreSQL alike.

A listener binds a socket file `<channel>.<random>` (0600) in LLM_RUN_DIR (0700); a sender
writes one byte to every socket of that channel it finds there, without
blocking, and removes files whose listener died. `sweep()`, run as the web
server and the worker start, removes the files of dead listeners that nobody
wrote to since (a process killed while it waited leaves its socket behind).

A web process holds many waiting clients at once, so it has one socket for all of them,
`hub.<random>`: `notify()` also writes the channel's name there, and the process's `Hub`
hands the wake-up to the waiters of that channel (`hub().waiter(channel)`), sync or async.
It reads its socket on the web server's event loop (`serve_on`), else on a thread of its own.
A thousand waiters cost one socket, not a thousand.

Across hosts (LLM_WAKEUPS=postgres, llm/queue/pgwakeups.py), `notify()` also sends a
PostgreSQL NOTIFY, and each process that listens here hears the other boxes' wake-ups on
one connection of its own and hands them to its listeners and hub (`wake_here`).
"""

import asyncio
import atexit
import errno
import os
import select
import socket
import threading
import uuid
from collections import defaultdict, deque
from pathlib import Path

from django.conf import settings

from llmsite import datadir

_sender = None
_mine = defaultdict(set)  # channel: this process's Listeners (woken by other boxes' wake-ups)
_mine_lock = threading.Lock()


def _across_hosts():
    """The module that carries wake-ups to other boxes, or None on one box (the default)."""
    if settings.LLM_WAKEUPS == "postgres":
        from llm.queue import pgwakeups

        return pgwakeups
    return None


def run_dir():
    path = Path(settings.LLM_RUN_DIR)
    path.mkdir(mode=datadir.DIR_MODE, parents=True, exist_ok=True)
    return path


class Listener:
    def __init__(self, channel):
        self.path = run_dir() / f"{channel}.{uuid.uuid4().hex[:10]}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.path.chmod(datadir.FILE_MODE)  # bind() makes it 0755 less the umask; its folder is 0700 anyway
        self.sock.setblocking(False)
        self.pid = os.getpid()
        with _mine_lock:
            _mine[channel].add(self)
        if remote := _across_hosts():
            remote.relay(wake_here)

    def wait(self, timeout):
        """Block until a wake-up arrives or `timeout` seconds pass; True if woken.

        poll(), not select(): select() fails on a descriptor numbered past 1,023, which a
        web process holding many waiting clients reaches.
        """
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        if not poller.poll(max(timeout, 0) * 1000):
            return False
        # Several wake-ups may have piled up; one look at the database answers all.
        while True:
            try:
                self.sock.recv(64)
            except BlockingIOError:
                return True

    def heard(self):
        """True when a wake-up came since the last look; does not wait."""
        heard = False
        while True:
            try:
                self.sock.recv(64)
            except BlockingIOError:
                return heard
            heard = True

    def close(self):
        with _mine_lock:
            for listeners in _mine.values():
                listeners.discard(self)
        self.sock.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def listen(channel):
    return Listener(channel)


HUB = "hub"
NEWS_LIMIT = 16 << 10  # bytes of news a wake-up carries at most


def _socket():
    global _sender
    if _sender is None or _sender.fileno() < 0:
        _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    return _sender


def notify(channel):
    """Wake every listener of `channel`, and every web process's hub; returns how many listeners of
    `channel` were reached (hubs not counted)."""
    sender = _socket()
    reached = 0
    for entry in os.scandir(run_dir()):
        if entry.name.startswith(f"{HUB}."):
            message = channel.encode()
        elif entry.name.startswith(f"{channel}."):
            message = b"!"
        else:
            continue
        path = Path(entry.path)
        try:
            sender.sendto(message, socket.MSG_DONTWAIT, str(path))
            reached += message == b"!"
        except BlockingIOError:
            reached += message == b"!"  # its queue is full of wake-ups it has yet to read
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # its listener died without cleaning up
        except OSError as exc:
            if exc.errno != errno.ENOTSOCK:
                raise
    if remote := _across_hosts():
        remote.send(channel)
    return reached


def tell(hubs, channel, news):
    """Wake the waiters of `channel` in the web processes whose `hubs` follow it (`followers`),
    with `news` (bytes, at most NEWS_LIMIT) for those that take news (`Waiter.take_news`): a
    stream's text, which the worker stores less often than it tells (llm/queue/relay.py). Only
    these hubs, and no look at the folder: the worker tells ten times a second. A wake-up
    that is lost (a full socket) loses its news; the follower sees the gap and reads the row."""
    message = channel.encode() + b"\n" + news
    sender = _socket()
    for hub in hubs:
        try:
            sender.sendto(message, socket.MSG_DONTWAIT, hub)
        except (BlockingIOError, ConnectionRefusedError, FileNotFoundError):
            pass  # full, or its web process is gone: the next store tells whoever follows then


def wake_other_hosts(channel):
    """Wake the listeners of `channel` on the other boxes (none on one box): the worker cannot
    see who follows a request there, so it wakes them at each store of the text."""
    if remote := _across_hosts():
        remote.send(channel)


def wake_here(channel):
    """Wake this process's listeners of `channel` and its hub's waiters (all of them for None):
    a wake-up from another box, heard by this process's relay."""
    with _mine_lock:
        listeners = [listener for name, group in _mine.items() if channel in (None, name) for listener in group]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        for listener in listeners:
            if listener.pid != os.getpid():
                continue  # inherited over a fork: its owner is another process
            try:
                sender.sendto(b"!", socket.MSG_DONTWAIT, str(listener.path))
            except OSError:
                pass  # full (it has wake-ups to read) or closed meanwhile
    current = _hub
    if current is not None and current.pid == os.getpid():
        current.dispatch(channel)


def sweep():
    """Remove the sockets in LLM_RUN_DIR whose listener is gone; returns how many.

    A live listener's socket accepts a connect (which sends nothing), a dead
    one's refuses it; files that are not sockets are left alone.
    """
    removed = 0
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
        for path in run_dir().iterdir():
            if not path.is_socket():
                continue
            try:
                probe.connect(str(path))
            except ConnectionRefusedError:
                path.unlink(missing_ok=True)
                removed += 1
            except OSError:
                pass  # gone meanwhile, or not ours to judge
    hubs = {path.suffix for path in run_dir().glob(f"{HUB}.*")}
    for marker in (run_dir() / FOLLOWING).glob("*"):
        if marker.suffix not in hubs:  # its web process died while a client followed
            marker.unlink(missing_ok=True)
            removed += 1
    return removed


def request_channel(request_id):
    return f"request-{request_id}"


def text_channel(request_id):
    """Clients streaming a request's text: woken at every flush of it, and at the request's
    end too (a waiter of `a.b` is woken by a wake-up of `a` as well, see `Waiter`)."""
    return f"{request_channel(request_id)}.text"


FOLLOWING = "following"  # LLM_RUN_DIR/following/<channel>.<hub>: a web process has a waiter on <channel>


def followers(channel):
    """The hubs (socket paths) of the web processes that wait on `channel` now, on this box (the
    worker tells a request's text often only while somebody streams it). A scan of the folder,
    not a glob: the worker asks for every request, and a glob compiles a pattern for each channel."""
    prefix = f"{channel}."
    try:
        with os.scandir(run_dir() / FOLLOWING) as entries:
            return [str(run_dir() / f"{HUB}.{entry.name[len(prefix):]}") for entry in entries
                    if entry.name.startswith(prefix)]
    except FileNotFoundError:
        return []


# --- One listener per web process --------------------------------------------------------------

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
        if remote := _across_hosts():
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

