"""Following a generation while it waits and runs, for clients that stream.

The worker stores the text so far every LLM_STREAM_FLUSH_SECONDS and wakes us
(llm/notify.py); we read the row and hand on what is new. The database is the
channel, so this works the same on SQLite and PostgreSQL and survives a lost
wake-up, at the cost of one small UPDATE per flush in the worker and one
SELECT per wake-up here.

Policy for clients that go away: a stream whose client disconnects cancels its
request, whether it still waits or already runs (the worker then stops reading
from Ollama at its next flush). A disconnect shows only when we write, so a
heartbeat goes out every HEARTBEAT_SECONDS while nothing else does.
"""

import time
from dataclasses import dataclass

from llm import notify, scheduling
from llm.models import GenerationRequest

HEARTBEAT_SECONDS = 1.0


@dataclass
class Event:
    kind: str  # "queued" (with position), "text" (with text), "heartbeat", "end"
    text: str = ""
    position: int | None = None


def follow(generation):
    """Events for `generation` until it ends; closing this generator early cancels it."""
    Status = GenerationRequest.Status
    sent = 0
    try:
        with notify.listen(notify.request_channel(generation.request_id)) as listener:
            while True:
                generation.refresh_from_db()
                produced = False
                if generation.status == Status.QUEUED:
                    yield Event("queued", position=scheduling.queue_position(generation))
                    produced = True
                elif generation.status in (Status.RUNNING, Status.DONE) and len(generation.response) > sent:
                    yield Event("text", text=generation.response[sent:])
                    sent = len(generation.response)
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
