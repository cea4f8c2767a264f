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
`hub.<random>` (llm/queue/hub.py): `notify()` also writes the channel's name there, and
`tell()` a stream's news.

Across hosts (LLM_WAKEUPS=postgres, llm/queue/pgwakeups.py), `notify()` also sends a
PostgreSQL NOTIFY, and each process that listens here hears the other boxes' wake-ups on
one connection of its own and hands them to its listeners and hub (`wake_here`).
"""

import errno
import os
import select
import socket
import threading
import uuid
from collections import defaultdict
from pathlib import Path

from django.conf import settings

from llmsite import datadir

_sender = None
_mine = defaultdict(set)  # channel: this process's Listeners (woken by other boxes' wake-ups)
_mine_lock = threading.Lock()


def across_hosts():
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
        if remote := across_hosts():
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
    if remote := across_hosts():
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
    if remote := across_hosts():
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
    from llm.queue import hub  # it builds on this module

    if (current := hub.current()) is not None:
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
