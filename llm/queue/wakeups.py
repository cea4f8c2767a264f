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
"""

import errno
import select
import socket
import uuid
from pathlib import Path

from django.conf import settings

from llmsite import datadir

_sender = None


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

    def close(self):
        self.sock.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def listen(channel):
    return Listener(channel)


def notify(channel):
    """Wake every listener of `channel`; returns how many were reached."""
    global _sender
    if _sender is None or _sender.fileno() < 0:
        _sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reached = 0
    for path in run_dir().glob(f"{channel}.*"):
        try:
            _sender.sendto(b"!", socket.MSG_DONTWAIT, str(path))
            reached += 1
        except BlockingIOError:
            reached += 1  # its queue is full of wake-ups it has yet to read
        except (ConnectionRefusedError, FileNotFoundError):
            path.unlink(missing_ok=True)  # its listener died without cleaning up
        except OSError as exc:
            if exc.errno != errno.ENOTSOCK:
                raise
    return reached


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
    return removed


def request_channel(request_id):
    return f"request-{request_id}"



def text_channel(request_id):
    """Clients streaming a request's text: woken at every flush of it. Its sockets are
    named under the request's channel, so the request's end wakes them too."""
    return f"{request_channel(request_id)}.text"


def listening(channel):
    """True when some process listens on `channel` now."""
    return any(run_dir().glob(f"{channel}.*"))
