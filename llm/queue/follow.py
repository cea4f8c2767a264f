"""Following a generation while it waits and runs, for clients that stream.

The worker stores the text so far every LLM_STREAM_FLUSH_SECONDS and wakes us
(llm/wakeups.py); we read the row and hand on what is new. The database is the
channel, so this works the same on SQLite and PostgreSQL and survives a lost
wake-up, at the cost of one small UPDATE per flush in the worker and one
SELECT per wake-up here.

Policy for clients that go away: a stream whose client disconnects cancels its
request, whether it still waits or already runs (the worker then stops reading
from Ollama at its next flush). A disconnect shows only when we write, so a
heartbeat goes out every HEARTBEAT_SECONDS while nothing else does.

A stream is tied to the run whose text it sent (`attempts` counts the runs).
A second run starts from no text: had it followed on, the client would get the
start of one run joined to the rest of another. So if the request runs again,
or goes back in line, after text was sent, the stream ends as a failed
request's does. (The runner does not re-run a request that stored text; this
holds whatever path a re-run would take.)
"""

import time
from dataclasses import dataclass

from llm.queue import policy, wakeups
from llm.models import GenerationRequest

HEARTBEAT_SECONDS = 1.0
RESTARTED = "The reply broke off and was restarted after part of it was streamed; a stream cannot join two runs"


@dataclass
class Event:
    kind: str  # "queued" (with position), "text" (with text), "heartbeat", "end"
    text: str = ""
    position: int | None = None


def follow(generation):
    """Events for `generation` until it ends; closing this generator early cancels it."""
    Status = GenerationRequest.Status
    sent, run = 0, None  # how much text went out, and from which run
    try:
        with wakeups.listen(wakeups.text_channel(generation.request_id)) as listener:
            while True:
                generation.refresh_from_db()
                if sent and (generation.status == Status.QUEUED or generation.attempts != run):
                    _end_restarted(generation)
                    yield Event("end")
                    return
                produced = False
                if generation.status == Status.QUEUED:
                    yield Event("queued", position=policy.queue_position(generation))
                    produced = True
                elif generation.status in (Status.RUNNING, Status.DONE) and len(generation.response) > sent:
                    yield Event("text", text=generation.response[sent:])
                    sent, run = len(generation.response), generation.attempts
                    produced = True
                if generation.is_finished:
                    yield Event("end")
                    return
                started = time.monotonic()
                woken = listener.wait(HEARTBEAT_SECONDS)
                if not woken and not produced and time.monotonic() - started >= HEARTBEAT_SECONDS:
                    yield Event("heartbeat")
    finally:
        if not generation.is_finished:
            generation.cancel("The client disconnected from the stream")


def _end_restarted(generation):
    """Fail the request this stream can no longer follow (its client asked for it), so the
    doors end the stream in their error shape. If a second run already finished it, the
    request stays done for whoever reads it, and only this stream's copy says failed."""
    if not generation.abandon(RESTARTED):
        generation.status, generation.error = GenerationRequest.Status.FAILED, RESTARTED
