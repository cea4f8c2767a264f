"""Following a generation while it waits and runs, for clients that stream or wait, as coroutines.

While a client streams it, the worker tells the web process what is new every
LLM_STREAM_FLUSH_SECONDS, in the wake-up itself (llm/queue/relay.py; the web process's hub,
llm/queue/hub.py), and stores the text in the row once a second. We hand on what the news
bring without reading the row; we read it when a wake-up comes without news (the request
ended, went back in line), when news cannot be joined to what we have (a lost wake-up, a stream
that came in the middle: the news say where they start), and when the shared board says it
moved. The row stays the record, so a lost wake-up costs a delay, never text.

Policy for clients that go away: a stream whose client disconnects cancels its
request, whether it still waits or already runs (the worker then stops reading
from Ollama at its next flush). The server tells a closed connection at once (Django's
handler listens for the disconnect and cancels the answer); one that vanished without
closing (a cable pulled, a NAT forgetting it) shows only when we write, so a heartbeat
goes out every HEARTBEAT_SECONDS while nothing else does, which also keeps proxies from
timing out an idle stream.

A queued stream gets a line when its place in line changes, not every second: it looks
at the shared board (llm/queue/positions.py) every LOOK_SECONDS, which costs no line.
A thousand streams waiting their turn then send nothing but a heartbeat now and then.

A stream is tied to the run whose text it sent (`attempts` counts the runs).
A second run starts from no text: had it followed on, the client would get the
start of one run joined to the rest of another. So if the request runs again,
or goes back in line, after text was sent, the stream ends as a failed
request's does. (The runner does not re-run a request that stored text; this
holds whatever path a re-run would take.)
"""

import json
import random
import time
from dataclasses import dataclass

from llm.models import GenerationRequest, rows
from llm.queue import offthread, wakeups
from llm.queue.hub import hub
from llm.queue.positions import board

HEARTBEAT_SECONDS = 15.0  # a line at least this often, when nothing else went out
LOOK_SECONDS = 1.0  # a waiter nobody woke looks at the shared board this often
RESTARTED = "The reply broke off and was restarted after part of it was streamed; a stream cannot join two runs"
DISCONNECTED = "The client disconnected"


@dataclass
class Event:
    kind: str  # "queued" (with position), "text" (with text, thinking, tool calls), "heartbeat", "end"
    text: str = ""
    thinking: str = ""
    tool_calls: list = ()  # the calls new since the last event
    position: int | None = None
    length: int | None = None  # of the queue, with a position


async def follow(generation):
    """Events for `generation` until it ends; closing this generator early cancels it.

    A coroutine, not a thread: it sleeps on this process's wake-up hub, reads its row only
    when woken (or when the shared board says it left the line or ended: a lost wake-up),
    and takes its place in line from the board, computed once for every waiter.
    """
    Status = GenerationRequest.Status
    sent, run = (0, 0, 0), None  # how much text, thinking and tool calls went out, and from which run
    place, last_line = None, time.monotonic()  # the place in line last sent; when the last line went
    news = []  # what the last wake-ups brought

    def heard():
        news[:] = waiter.take_news()
        return _hear(generation, news)

    def reread():
        _reread(generation)
        _hear(generation, news)  # what they brought past the row: each joins where it starts

    try:
        with hub().waiter(wakeups.text_channel(generation.request_id), news=True) as waiter:
            await offthread.run(rows.refresh, generation)  # after subscribing: no wake-up is missed
            while True:
                if any(sent) and (generation.status == Status.QUEUED or generation.attempts != run):
                    await offthread.run(_end_restarted, generation)
                    yield Event("end")
                    return
                if generation.status == Status.QUEUED:
                    snapshot = await _board(generation.created_at if place is None else None)
                    if snapshot.place(generation.pk) != place:
                        place = snapshot.place(generation.pk)
                        yield Event("queued", position=place, length=snapshot.length)
                        last_line = time.monotonic()
                elif generation.status in (Status.RUNNING, Status.DONE) and _sizes(generation) != sent:
                    yield _news(generation, sent)
                    sent, run = _sizes(generation), generation.attempts
                    last_line = time.monotonic()
                if generation.is_finished:
                    yield Event("end")
                    return
                if (quiet := time.monotonic() - last_line) >= HEARTBEAT_SECONDS:
                    yield Event("heartbeat")
                    last_line, quiet = time.monotonic(), 0.0
                queued = generation.status == Status.QUEUED
                await look(generation.pk, queued, waiter, min(_look_pause(), HEARTBEAT_SECONDS - quiet),
                           reread, heard)
    finally:
        if not generation.is_finished:
            await offthread.run(generation.cancel, f"{DISCONNECTED} from the stream")


async def wait(generation, timeout):
    """Wait without a thread until `generation` ends or `timeout` seconds pass; returns its row as last read.
    A client that goes away meanwhile (the server cancels this coroutine) cancels its request."""
    with hub().waiter(wakeups.request_channel(generation.request_id)) as waiter:
        await offthread.run(generation.refresh_from_db)  # after subscribing: no wake-up is missed
        return await wait_for(generation.pk, generation.status, timeout, waiter, lambda row: row)


async def wait_for(pk, status, timeout, waiter, then):
    """`then(row)` for the request `pk` once it ends or `timeout` seconds pass, computed in the
    same hop as the read that saw it end. `status`: as read after `waiter` (a subscription to the
    request's channel, left for the caller to close) was taken.

    Between looks only the id and the status are kept, not the row: a thousand clients wait at
    once (issue 12). A client that goes away (the server cancels this coroutine) cancels its request.
    """
    deadline = time.monotonic() + timeout
    answer = []

    def read():
        row = rows.get(GenerationRequest, pk)
        if row.is_finished:
            answer.append(then(row))
        return row.status

    try:
        while status in GenerationRequest.UNFINISHED and (remaining := deadline - time.monotonic()) > 0:
            queued = status == GenerationRequest.Status.QUEUED
            status = await look(pk, queued, waiter, min(_look_pause(), remaining), read) or status
    except BaseException:
        if status in GenerationRequest.UNFINISHED:
            await offthread.run(_cancel, pk, DISCONNECTED)
        raise
    return answer[0] if answer else await offthread.run(lambda: then(rows.get(GenerationRequest, pk)))


async def look(pk, queued, waiter, timeout, read, heard=None):
    """Sleep until woken or `timeout`; `read()` when woken (unless `heard()` says the wake-ups
    brought all there is), or when the shared board says the request `pk` is no longer where we
    last saw it (`queued` or not). What `read()` returned, or None when it did not read."""
    woken = await waiter.until(timeout)
    if woken and heard is not None and heard():
        return None
    if not woken:
        snapshot = await _board()
        if not snapshot.moved(pk, queued=queued):
            return None
    return await offthread.run(read)


def _cancel(pk, reason):
    GenerationRequest.objects.get(pk=pk).cancel(reason)


def _hear(generation, news):
    """Add what the worker's `news` bring (llm/queue/relay.py, `Mark.news`) to our copy of the
    running `generation`. False when the row must be read: a wake-up without news, news of
    another run, or news that start past what we have (one was lost). Hearing news twice
    adds nothing the second time."""
    joined = True
    for item in news:
        if item is None or generation.status != GenerationRequest.Status.RUNNING:
            joined = False
            continue
        item = json.loads(item)
        have = _sizes(generation)
        if item["run"] != generation.attempts or any(at > size for at, size in zip(item["at"], have)):
            joined = False
            continue
        text_at, thinking_at, calls_at = item["at"]
        generation.response += item["text"][have[0] - text_at:]
        generation.thinking += item["thinking"][have[1] - thinking_at:]
        generation.tool_calls = [*(generation.tool_calls or ()), *item["tool_calls"][have[2] - calls_at:]]
    return joined


def _reread(generation):
    """Read the row again. While it runs, the news may have brought more than the row holds
    (stored once a second); the row's text is the start of theirs, so ours is kept."""
    run, heard = generation.attempts, (generation.response, generation.thinking, generation.tool_calls or [])
    rows.refresh(generation)
    if generation.status == GenerationRequest.Status.RUNNING and generation.attempts == run:
        for name, ours in zip(("response", "thinking", "tool_calls"), heard):
            if len(ours) > len(getattr(generation, name) or ()):
                setattr(generation, name, ours)


def _sizes(generation):
    return len(generation.response), len(generation.thinking), len(generation.tool_calls or ())


def _news(generation, sent):
    """What the generation stored since `sent` (its sizes then)."""
    text, thinking, calls = sent
    return Event("text", text=generation.response[text:], thinking=generation.thinking[thinking:],
                 tool_calls=(generation.tool_calls or [])[calls:])


def _look_pause():
    """About LOOK_SECONDS, spread a little: a thousand clients that came at once do not
    all wake in the same millisecond every second."""
    return LOOK_SECONDS * random.uniform(0.8, 1.0)


async def _board(since=None):
    """The shared board, having looked since `since` (a request's created_at) if given. When it
    is due to look again, one waiter has it look for all, and the others go on with the last
    snapshot meanwhile: a thousand waiters do not queue a thousand looks on the pool."""
    if since is not None:
        return board.cached(since) or await offthread.run(board.current, False, since)
    if (snapshot := board.cached()) is not None:
        return snapshot
    if board.looking and board.snapshot is not None:
        return board.snapshot
    board.looking = True
    try:
        return await offthread.run(board.current, False)
    finally:
        board.looking = False


def _end_restarted(generation):
    """Fail the request this stream can no longer follow (its client asked for it), so the
    doors end the stream in their error shape. If a second run already finished it, the
    request stays done for whoever reads it, and only this stream's copy says failed."""
    if not generation.abandon(RESTARTED):
        generation.status, generation.error = GenerationRequest.Status.FAILED, RESTARTED
