"""Answers that wait for a generation without holding a thread, for every door.

A door's view stays a sync DRF view: it authenticates, throttles, validates and stores the
request, and its errors keep the door's shape. When the answer must wait, the view returns
`Pending` (wait, then answer) or `Stream` (the answer's lines as the generation goes), and
the door's async view (`WaitingView.as_view()`) awaits it on the server's event loop
(llm/queue/follow.py): a thousand waiting clients are a thousand coroutines, not threads.

Each open wait or stream holds one of its token's LLM_MAX_OPEN_WAITS_PER_TOKEN places
(llm/rules/limits.py), taken before the request is stored, so a refused call costs nothing.

These views run their sync part on the waiters' own small pool (llm/queue/offthread.py), not on
the web threads: a burst of a thousand clients then queues there, and /status, the dashboard
and the admin still find a web thread free.
"""

import functools
import weakref
from contextlib import aclosing

from django.http import StreamingHttpResponse
from rest_framework.response import Response

from llm.queue import follow, intake, offthread, wakeups
from llm.rules import limits


def admit(token, store):
    """Take one of `token`'s open waits, then `store()` the request: (place, request).
    The place is given back when storing fails (a full queue, a rate)."""
    place = limits.open_wait(token)
    try:
        return place, store()
    except BaseException:
        place.release()
        raise


class Pending(Response):
    """"Wait for `generation` up to `timeout` seconds, then answer `then(generation)`"; never sent itself.

    Made in the hop that stored `generation`: it subscribes to its wake-up there and reads the row
    once more after subscribing (a worker may have finished it since the commit), so the wait
    needs no hop of its own to start, and the read that sees it end makes the answer in the same
    hop (two hops to the pool per wait, not four).
    """

    def __init__(self, generation, timeout, then, place):
        super().__init__()
        self.generation, self.timeout, self.then, self.place = generation, timeout, then, place
        self.waiter = wakeups.hub().waiter(wakeups.request_channel(generation.request_id)).__enter__()
        weakref.finalize(self, _give_back, place, self.waiter)
        generation.refresh_from_db()  # after subscribing: no wake-up is missed

    async def answer(self):
        try:
            return await follow.wait(self.generation, self.timeout, self.waiter, self._finish)
        finally:
            _give_back(self.place, self.waiter)

    def _finish(self, generation):
        """The view's answer for the finished (or timed out) generation, errors shaped by the view."""
        return _answer(self, self.then, generation)


class PendingPulls(Response):
    """"Wait until `pulls` end or `timeout` seconds pass, then answer `then(pulls)`"; never sent
    itself. An admin's pull that waits holds no thread for the minutes a download takes."""

    def __init__(self, pulls, timeout, then):
        super().__init__()
        self.pulls, self.timeout, self.then = pulls, timeout, then

    async def answer(self):
        pulls = await intake.wait_for(self.pulls, self.timeout)
        return await offthread.run(_answer, self, self.then, pulls)


def _answer(pending, then, value):
    """`then(value)` as `pending`'s view answers, its errors shaped by the view."""
    view = pending.renderer_context["view"]
    try:
        response = then(value)
    except Exception as exc:
        response = view.handle_exception(exc)
    return view.finalize_response(view.request, response)


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
    try:
        async with aclosing(lines):
            async for line in lines:
                yield line
    finally:
        place.release()


class WaitingView:
    """Mix into a DRF view (first): its `as_view()` is an async view that awaits a `Pending`
    or `PendingPulls`."""

    @classmethod
    def as_view(cls, *args, **kwargs):
        return waiting_view(super().as_view(*args, **kwargs))


def waiting_view(view):
    @functools.wraps(view)  # keeps DRF's cls, initkwargs, actions and csrf_exempt for the schema and Django
    async def waiting(request, *args, **kwargs):
        response = await offthread.run(functools.partial(view, request, *args, **kwargs))
        if isinstance(response, (Pending, PendingPulls)):
            return await response.answer()
        return response

    return waiting
