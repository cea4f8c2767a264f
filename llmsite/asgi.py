"""The web server's application: Django under ASGI (gunicorn's uvicorn worker, llmsite/gunicorn.py).

Waits and streams are coroutines on the server's event loop (llm/doors/waiting.py), so a
thousand waiting clients hold no thread each. The sync code of a request (middleware,
DRF's authentication, validation, the views that answer at once) runs on one pool of
WEB_THREADS threads shared by all requests, each thread with its one persistent database
connection, as gunicorn's threads did. (Django's own handler would make a new thread per
request, with a new database connection, kept until the answer is sent: a thousand
waiting clients would be a thousand idle threads and connections, past PostgreSQL's 100.)
"""

import asyncio
import gc
import os
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix
from django.utils.log import log_response

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmsite.settings")


ADMITTED = 32  # calls with a body worked on at once (see `handle`)


class PooledASGIHandler(ASGIHandler):
    """Django's ASGI handler, with the sync code of every request on one bounded pool."""

    def __init__(self, threads, admitted=None):
        super().__init__()
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="web")
        self.admitted = asyncio.Semaphore(admitted or ADMITTED)
        self.serving = False

    def load_middleware(self, is_async=False):
        # Django's own middleware as subclasses without their thread hops (llm/asyncmiddleware.py).
        from django.test.utils import override_settings

        from llm import asyncmiddleware

        with override_settings(MIDDLEWARE=asyncmiddleware.swapped(settings.MIDDLEWARE)):
            super().load_middleware(is_async)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        if not self.serving:
            from llm.queue import hub

            hub.serve_on(asyncio.get_running_loop())  # the wake-ups of this process are read on its loop
            self.serving = True
        async with ThreadSensitiveContext(executor=self.threads):
            await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        """Django's, leaner for a client that waits (issue 12: a thousand of them in under 40 MB).

        - A `Later` (llm/doors/waiting.py) is awaited here, once the view and the middleware
          have returned, and a stream is sent, once Django's request is let go: while the
          client waits, its request, DRF's and the middleware's coroutines are freed.
        - At most ADMITTED calls with a body (the doors' generations among them) are
          checked and stored at once, once their body is read (a client sending it slowly
          holds no turn); the others wait their turn with nothing but their body and
          connection. A burst of a thousand then costs the memory of that many calls in flight,
          not of a thousand, and that high-water mark of the heap stays after they are stored:
          it was a fifth of what a waiting client cost. (The pool that stores them has a few
          threads: a thousand in flight went no faster.)
        - One task listens for the client's disconnect and cancels this one, where Django's makes
          two tasks and an asyncio.wait per request.
        """
        from llm.doors.waiting import Later, answered_later

        turn = _Turn(None if scope["method"] in SAFE_METHODS else self.admitted)
        later = answered_later.set(True)
        handling = asyncio.current_task()
        listening = body_file = request = response = None
        try:
            try:
                body_file = await self.read_body(receive)
            except RequestAborted:
                return
            await turn.take()  # after the body: a client sending its body slowly holds no turn
            set_script_prefix(get_script_prefix(scope))
            await signals.request_started.asend(sender=self.__class__, scope=scope)
            request, response = self.create_request(scope, body_file)
            listening = asyncio.create_task(_cancel_on_disconnect(receive, handling))
            if request is not None:
                response = await self.run_get_response(request)
                turn.give_back()
                if isinstance(response, Later) or response.streaming:
                    path = request.path
                    _let_go(request, body_file, response)
                    request = body_file = None  # nothing else refers to them: freed now
                    if isinstance(response, Later):
                        response = await response.answer()
                        if response.status_code >= 400:
                            log_response("%s: %s", response.reason_phrase, path, response=response)
            await self.send_response(response, send)
        except asyncio.CancelledError:
            if listening is None or not listening.done() or listening.cancelled():
                raise  # not the client's disconnect
            handling.uncancel()
        finally:
            turn.give_back()
            if listening is not None:
                listening.cancel()
            answered_later.reset(later)
            if body_file is not None:
                body_file.close()
        if response is None:
            await signals.request_finished.asend(sender=self.__class__)
        else:
            await sync_to_async(response.close)()


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _Turn:
    """One of ADMITTED places (`gate`, None for a call that needs none), given back once."""

    __slots__ = ("gate", "held")

    def __init__(self, gate):
        self.gate, self.held = gate, False

    async def take(self):
        if self.gate is not None:
            await self.gate.acquire()
            self.held = True

    def give_back(self):
        if self.held:
            self.held = False
            self.gate.release()


async def _cancel_on_disconnect(receive, task):
    """Cancel `task` when its client goes away: the only message after the body (Django's
    handler listens for it too, and cancels the view)."""
    await receive()
    task.cancel()


def _let_go(request, body_file, response):
    """Close `request` and its body now, not once `response` is sent (Django's handler asks the
    response to close the request): then the response no longer refers to it."""
    response._resource_closers = [close for close in response._resource_closers
                                  if getattr(close, "__self__", None) is not request]
    request.close()
    body_file.close()


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
