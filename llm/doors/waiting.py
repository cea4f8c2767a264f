"""Answers that wait for a generation without holding a thread, for every door.

A door's view stays a sync DRF view: it authenticates, throttles, validates and stores the
request, and its errors keep the door's shape. When the answer must wait, the view returns
`Pending` (wait, then answer) or `Stream` (the answer's lines as the generation goes), and
they are awaited on the server's event loop (llm/queue/follow.py): a thousand waiting clients
are a thousand coroutines, not threads.

While it waits, a client should cost the web server little (issue 12: a thousand of them in
under 40 MB). So the view returns at once and lets its request go (`WaitingView`), and the
web server (llmsite/asgi.py) awaits a `Pending` only after the view, the middleware and
Django's request are done with: what waits is the request's id and status, its wake-up
subscription, its place, and the view without its request, to shape the end. (Elsewhere,
runserver or the tests' client, the door's async view awaits it itself.)

Each open wait or stream holds one of its token's LLM_MAX_OPEN_WAITS_PER_TOKEN places
(llm/rules/limits.py), taken before the request is stored, so a refused call costs nothing.

These views run their sync part on the waiters' own small pool (llm/queue/offthread.py), not on
the web threads: a burst of a thousand clients then queues there, and /status, the dashboard
and the admin still find a web thread free.
"""

import functools
import weakref
from contextlib import aclosing
from contextvars import ContextVar

from django.http import HttpResponse, StreamingHttpResponse

from llm.models import GenerationRequest, rows
from llm.queue import follow, intake, offthread, wakeups
from llm.queue.hub import hub
from llm.rules import limits

# True where the web server awaits a `Later` itself, after the request is let go (llmsite/asgi.py).
answered_later = ContextVar("answered_later", default=False)


def admit(token, store):
    """Take one of `token`'s open waits, then `store()` the request: (place, request).
    The place is given back when storing fails (a full queue, a rate)."""
    place = limits.open_wait(token)
    try:
        return place, store()
    except BaseException:
        place.release()
        raise


class Later(HttpResponse):
    """An answer that has to wait; never sent itself: `await answer()` is the response to send,
    with the headers the middleware gave this one."""

    view = None  # the door's view, without its request (WaitingView.finalize_response)

    async def answer(self):
        try:
            response = await self.wait()
        except Exception as exc:  # a failed read: the door's 500, as for an error in its view
            response = await offthread.run(_answer, self.view, _raise, exc)
        finally:
            self.view = None  # the view holds this response (DRF's view.response)
        for header, value in self.items():
            if header.lower() not in ("content-type", "content-length") and not response.has_header(header):
                response[header] = value
        if self.has_header("Content-Length"):  # Django's CommonMiddleware set it
            response["Content-Length"] = str(len(response.content))
        return response

    async def wait(self):
        """The response, rendered, once the wait is over."""
        raise NotImplementedError


class Pending(Later):
    """"Wait for `generation` up to `timeout` seconds, then answer `then(generation)`".

    Made in the hop that stored `generation`: it subscribes to its wake-up there and reads the
    status once more after subscribing (a worker may have finished it since the commit), so the
    wait needs no hop of its own to start, and the read that sees it end makes the answer in the
    same hop (two hops to the pool per wait, not four). It keeps the row's id and status, not the row.
    """

    def __init__(self, generation, timeout, then, place):
        super().__init__()
        self.timeout, self.then, self.place = timeout, then, place
        self.waiter = hub().waiter(wakeups.request_channel(generation.request_id)).__enter__()
        weakref.finalize(self, _give_back, place, self.waiter)
        self.pk = generation.pk
        self.status = rows.get(GenerationRequest, self.pk).status  # after subscribing: no wake-up is missed

    async def wait(self):
        try:
            return await follow.wait_for(self.pk, self.status, self.timeout, self.waiter, self._finish)
        finally:
            _give_back(self.place, self.waiter)

    def _finish(self, generation):
        """The view's answer for the finished (or timed out) generation, errors shaped by the view."""
        return _answer(self.view, self.then, generation)


class PendingPulls(Later):
    """"Wait until `pulls` end or `timeout` seconds pass, then answer `then(pulls)`"; never sent
    itself. An admin's pull that waits holds no thread for the minutes a download takes."""

    def __init__(self, pulls, timeout, then):
        super().__init__()
        self.pulls, self.timeout, self.then = pulls, timeout, then

    async def wait(self):
        pulls = await intake.wait_for(self.pulls, self.timeout)
        return await offthread.run(_answer, self.view, self.then, pulls)


def _answer(view, then, value):
    """`then(value)` as `view` answers, its errors shaped by the view, rendered."""
    try:
        response = then(value)
    except Exception as exc:
        response = view.handle_exception(exc)
    response = view.finalize_response(view.request, response)
    if hasattr(response, "render"):
        response.render()
    return response


def _raise(exc):
    raise exc


def _give_back(place, waiter):
    place.release()
    waiter.__exit__(None, None, None)


class Stream(StreamingHttpResponse):
    """A streamed answer from an async generator of lines; its place is given back when it ends,
    is closed, or is dropped unread."""

    def __init__(self, lines, place, content_type):
        super().__init__(_giving_back(lines, place), content_type=content_type)
        self.place = place
        weakref.finalize(self, place.release)

    def close(self):
        super().close()
        self.place.release()


async def _giving_back(lines, place):
    """The lines as bytes (UTF-8, the doors' charset): Django then sends them as they are, where a
    str would have it look up the response's charset for every line of the stream."""
    try:
        async with aclosing(lines):
            async for line in lines:
                yield line.encode() if isinstance(line, str) else line
    finally:
        place.release()


class WaitingView:
    """Mix into a DRF view (first): its `as_view()` is an async view, and a `Later` or a `Stream`
    it returns keeps the view but not its request."""

    @classmethod
    def as_view(cls, *args, **kwargs):
        return waiting_view(super().as_view(*args, **kwargs))

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Later):
            response.view = self
        if isinstance(response, (Later, Stream)):  # a stream may hold the view (a door's method)
            self.request = _Renderer(request)  # all that answering needs of it: DRF's request goes
            request.parser_context = None  # it and DRF's request refer to each other: freed now, not by the collector
        return response


class _Renderer:
    """What the view's `finalize_response` needs of its DRF request once it was let go."""

    __slots__ = ("accepted_renderer", "accepted_media_type")
    authenticators = ()

    def __init__(self, request):
        self.accepted_renderer, self.accepted_media_type = request.accepted_renderer, request.accepted_media_type


def waiting_view(view):
    @functools.wraps(view)  # keeps DRF's cls, initkwargs, actions and csrf_exempt for the schema and Django
    async def waiting(request, *args, **kwargs):
        response = await offthread.run(functools.partial(view, request, *args, **kwargs))
        if isinstance(response, Later) and not answered_later.get():
            return await response.answer()
        return response

    return waiting
