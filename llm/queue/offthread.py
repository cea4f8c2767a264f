"""How a waiting client touches the database without holding a thread of its own.

Under the ASGI server a wait or a stream is a coroutine, and the sync code of requests runs
on the web threads (llmsite/asgi.py). `run()` sends each database read of the waiters to one
small pool of their own (LLM_WAIT_DB_THREADS threads, each with one persistent connection),
so a thousand waiters hold a handful of connections, never a thousand (PostgreSQL allows
100), and cannot crowd out /status or the dashboard from the web threads. The doors' views
that wait or stream run their sync part here too (llm/doors/waiting.py): a burst of them
queues on this pool, not on the web threads.

Called from sync code through async_to_sync (Django's test client, a management command),
`run()` stays on the caller's thread, which owns the connection (and, in a test, the
transaction) the rows live in.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.db import close_old_connections

_pool = None
_pool_lock = threading.Lock()


def _under_asgi_server():
    return SyncToAsync.thread_sensitive_context.get(None) is not None


def _shared_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(settings.LLM_WAIT_DB_THREADS, thread_name_prefix="llm-wait-db")
        return _pool


def _fresh(function, *args):
    close_old_connections()  # no request ends in a pool thread: check its connection's age and health here
    return function(*args)


async def run(function, *args):
    """`function(*args)` where a waiter's database work runs: the shared pool, or the calling sync thread."""
    if _under_asgi_server():
        return await sync_to_async(_fresh, thread_sensitive=False, executor=_shared_pool())(function, *args)
    return await sync_to_async(function)(*args)
