"""Relaying a generation from Ollama's stream to its row and to the clients that stream it.

The row is the record: the text so far is added to it every STORE_SECONDS, for
GET requests/<id>. A crash loses at most that much of a reply, which is not run again anyway
(llm/queue/runner.py). A cancel wakes the relay (the request's channel, llm/queue/wakeups.py),
which then stops reading at its next read: leaving the stream makes Ollama stop generating.
A store of a request no longer running fails too, should that wake-up be lost.

A client streaming the reply gets it sooner, and without the database: while a web process
follows the request (`wakeups.followers`), what came since the last news goes to it every
LLM_STREAM_FLUSH_SECONDS inside the wake-up itself (`News`), read from the socket by the web
process's hub (llm/queue/follow.py). On a CPU-only box every store and every read of a row
is CPU taken from the model, twenty times a second while streamed (docs/benchmarks.md, "Relay").
News say where they start; a follower that missed one (its socket was full, it came in the
middle) sees the gap and reads the row, which the next store brings up to date.

For the same reason the stream itself is read in batches once a reply has run a while
(`read_pause`): each read wakes the worker between the model's tokens.
"""

import copy
import json
import time
from contextlib import closing

from django.conf import settings

from llm.engine import nodes
from llm.engine.ollama import OllamaError, OllamaUnavailable
from llm.models import GenerationRequest
from llm.queue import wakeups

# How often the text so far is stored in the row, streamed or not.
STORE_SECONDS = 1.0

# Reading Ollama's stream in batches (`read_pause`).
READ_PAUSED_AFTER_SECONDS = 0.25
UNFOLLOWED_READ_SECONDS = 0.25
READ_SHARE = 0.2


class GenerationTimeout(OllamaError):
    pass


class Cancelled(Exception):
    pass


def generate(tag, request, node, payload):
    """Stream `payload` from the Ollama of `node` and relay it (`Reply`): the text and the final
    chunk (with the thinking and tool calls whole). Cancelled when the request was cancelled."""
    chat = request.kind == GenerationRequest.Kind.CHAT
    started = time.monotonic()
    deadline = started + settings.LLM_GENERATION_TIMEOUT
    ollama = nodes.ollama(node)
    reply = Reply(request, started)
    try:
        with closing(ollama.chat(payload) if chat else ollama.generate(payload)) as batches:
            for batch in batches:
                for chunk in batch:
                    reply.add(*split_chunk(chunk, chat))
                    if chunk.get("done"):
                        return reply.text(), dict(chunk, thinking=reply.thinking(), tool_calls=reply.calls)
                now = time.monotonic()
                if now > deadline:
                    raise GenerationTimeout(
                        f"Generation ran past LLM_GENERATION_TIMEOUT ({settings.LLM_GENERATION_TIMEOUT}s)"
                    )
                reply.pass_on(now)
                time.sleep(read_pause(now - started, reply.followed))
    except OllamaUnavailable:
        reply.store_rest()  # the start of a reply that broke off
        raise
    finally:
        reply.cancels.close()
    raise OllamaError("Ollama ended the reply before the generation was done")


class Reply:
    """A reply as it comes (its text, thinking and tool calls, one entry per chunk), what the
    row holds of it and what its followers were told."""

    def __init__(self, request, started):
        self.request, self.started = request, started
        self.channel = wakeups.text_channel(request.request_id)
        self.parts, self.thoughts, self.calls = [], [], []
        self.stored = Mark(started)  # the first store a second in: a short reply is stored once, at its end
        self.told = Mark(None)  # None: at once
        self.looked_at = started  # when we last looked whether a client streams it
        self.hubs = wakeups.followers(self.channel)  # the web processes that stream it
        self.cancels = wakeups.listen(wakeups.request_channel(request.request_id))  # woken when it ends elsewhere

    def add(self, text, thinking, tool_calls):
        self.parts.append(text)
        self.thoughts.append(thinking)
        self.calls += tool_calls

    @property
    def followed(self):
        return bool(self.hubs)

    def text(self):
        return "".join(self.parts)

    def thinking(self):
        return "".join(self.thoughts)

    def pass_on(self, now):
        """Tell the followers what is new, and store it, each when due; Cancelled once it was."""
        if self.cancels.heard() and not GenerationRequest.objects.running().filter(pk=self.request.pk).exists():
            raise Cancelled()
        if not self.followed and now - self.started < STORE_SECONDS \
                and now - self.looked_at >= settings.LLM_STREAM_FLUSH_SECONDS:
            # A client that streams it subscribes once the request is stored, and so once the
            # worker is woken: it may come just after the reply started. Its first words go out
            # when it is seen, not a second later.
            self.looked_at = now
            self._follow(wakeups.followers(self.channel))
        if self.followed and len(self.parts) > self.told.chunks and (
                self.told.due(now, settings.LLM_STREAM_FLUSH_SECONDS) or len(self.calls) > self.told.calls):
            self.tell(now)  # a tool call goes out at once
        if self.stored.due(now, STORE_SECONDS):
            self.store(now)

    def tell(self, now):
        """News to the web processes that follow it; too long for a wake-up, the row carries it.
        The first words are stored before they go out: a request whose client may hold text is
        never run again after a crash (llm/queue/runner.py, `recover_orphans`), and the row says so."""
        if self.stored.holds_nothing():
            self.store(now)
        news = self.told.news(self)
        if len(news) > wakeups.NEWS_LIMIT:
            self.store(now, wake=True)
            self.told = copy.copy(self.stored)
        else:
            wakeups.tell(self.hubs, self.channel, news)
            self.told.move(self, now)

    def store(self, now, wake=False):
        """Add what came since the last store to the row. Its followers here heard it already;
        those on other boxes read it when woken."""
        more, thinking = self.stored.since(self)
        if not self.request.save_partial(more, thinking, list(self.calls), wake=wake):
            raise Cancelled()
        if not wake:
            wakeups.wake_other_hosts(self.channel)
        self.stored.move(self, now)
        self._follow(wakeups.followers(self.channel))

    def store_rest(self):
        more, thinking = self.stored.since(self)
        if more or thinking:
            self.request.save_partial(more, thinking, list(self.calls))

    def _follow(self, hubs):
        if hubs and not self.hubs:  # news start from what the row holds, which the follower read
            self.told = copy.copy(self.stored)
            self.told.at = None
        self.hubs = hubs


class Mark:
    """How far into a reply something is (chunks, characters of text and thinking, tool calls), and since when."""

    def __init__(self, at):
        self.at = at
        self.chunks = self.chars = self.thought_chars = self.calls = 0

    def holds_nothing(self):
        return not (self.chars or self.thought_chars or self.calls)

    def due(self, now, every):
        return self.at is None or now - self.at >= every

    def since(self, reply):
        """(text, thinking) that came after this mark."""
        return "".join(reply.parts[self.chunks:]), "".join(reply.thoughts[self.chunks:])

    def news(self, reply):
        """What came after this mark, as the followers hear it (llm/queue/follow.py): where it
        starts, in which run, and the text, thinking and tool calls since."""
        text, thinking = self.since(reply)
        return json.dumps({
            "run": reply.request.attempts, "at": [self.chars, self.thought_chars, self.calls],
            "text": text, "thinking": thinking, "tool_calls": reply.calls[self.calls:],
        }).encode()

    def move(self, reply, now):
        """Up to the end of what came so far."""
        text, thinking = self.since(reply)
        self.chars += len(text)
        self.thought_chars += len(thinking)
        self.chunks, self.calls, self.at = len(reply.parts), len(reply.calls), now



def read_pause(elapsed, followed):
    """How long to let Ollama's chunks gather in the socket before reading the stream again, a
    reply having run `elapsed` seconds.

    Ollama sends each token on its own; read as they come, each costs the worker a wake-up
    (~0.3 ms of CPU between the model's tokens, cold caches and all), the most of what relaying
    a reply costs the model on a CPU-only box. So a reply a client streams is read every
    LLM_STREAM_FLUSH_SECONDS (its text goes out no more often than that anyway: its end is seen
    that much later at most). One nobody streams is read as it comes while it is short (its
    end is all its client waits for), then, once it has run READ_PAUSED_AFTER_SECONDS, every
    UNFOLLOWED_READ_SECONDS at most, and never later than READ_SHARE of the time it has taken.
    """
    if followed:
        return settings.LLM_STREAM_FLUSH_SECONDS
    if elapsed < READ_PAUSED_AFTER_SECONDS:
        return 0.0
    return min(UNFOLLOWED_READ_SECONDS, elapsed * READ_SHARE)


def split_chunk(chunk, chat):
    """Ollama's streamed chunk as (text, thinking, tool calls): `response` and `thinking` of a
    generation; `message.content`, `message.thinking` and `message.tool_calls` of a chat."""
    if not chat:
        return chunk.get("response") or "", chunk.get("thinking") or "", []
    message = chunk.get("message") or {}
    return message.get("content") or "", message.get("thinking") or "", list(message.get("tool_calls") or [])
