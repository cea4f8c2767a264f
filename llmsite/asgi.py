"""The web server's application: Django under ASGI (gunicorn's uvicorn worker, llmsite/gunicorn.py).

Waits and streams are coroutines on the server's event loop (llm/doors/waiting.py), so a
thousand waiting clients hold no thread each. The sync code of a request (middleware,
DRF's authentication, validation, the views that answer at once) runs on one pool of
WEB_THREADS threads shared by all requests, each thread with its one persistent database
connection, as gunicorn's threads did. (Django's own handler would make a new thread per
request, with a new database connection, kept until the answer is sent: a thousand
waiting clients would be a thousand idle threads and connections, past PostgreSQL's 100.)
"""

import gc
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmsite.settings")


class PooledASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the sync code of every request on one bounded pool."""

    def __init__(self, threads):
        super().__init__()
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="web")

    def load_middleware(self, is_async=False):
        # Django's own middleware as subclasses without their thread hops (llm/asyncmiddleware.py).
        from django.test.utils import override_settings

        from llm import asyncmiddleware

        with override_settings(MIDDLEWARE=asyncmiddleware.swapped(settings.MIDDLEWARE)):
            super().load_middleware(is_async)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        async with ThreadSensitiveContext(executor=self.threads):
            await self.handle(scope, receive, send)


def _application():
    import django

    django.setup(set_prefix=False)
    handler = PooledASGIHandler(int(os.getenv("WEB_THREADS", "32")))
    _freeze_what_is_loaded()
    return handler


def _freeze_what_is_loaded():
    """Import every view now (the URLconf), then take what is loaded out of the garbage
    collector's sight (gc.freeze): its full collections then walk only what requests made.
    With a thousand clients waiting (bench/waiters.py), a full collection over the whole of Django
    took 270-480 ms with the event loop stopped; the collector's own objects per waiting client
    are what it walks now (~220 each, issue 12)."""
    from django.urls import get_resolver

    get_resolver().url_patterns
    gc.collect()
    gc.freeze()


application = _application()

# The web server starts: sockets left in LLM_RUN_DIR by processes that died go.
from llm.queue import wakeups  # noqa: E402

wakeups.sweep()
