"""What a generation must fit, through every door: text size, rates, the queue bound.

- Text: the prompt, the system prompt, the messages of a chat taken together (their contents,
  thinking and tool calls), and a chat's tool definitions (as JSON), each at most
  LLM_MAX_PROMPT_CHARS characters (413).
- Rates, per token, with DRF's throttling and Django's cache (429 with Retry-After). Rates
  come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] under "<scope>.<role>":

      "token.generate": "300/min",  "token.admin": "3000/min",            every call
      "generation.generate": "60/min", "generation.admin": "600/min",     generations queued

  A rate of None means no limit. `TokenRateThrottle` is DRF's default throttle, on every view
  of every door; the generation rate is counted by `check_generation_rate` when a generation
  is queued, whichever door it came through. The counts live in Django's cache: the default
  local-memory cache is right for the one web process `llmsite/gunicorn.py` runs.
- The queue: at most LLM_MAX_QUEUE_LENGTH requests wait (503 with Retry-After). `queue_place()`
  counts and inserts in one transaction behind a row lock, so N submits at once against a
  bound B never accept more than B, on SQLite and PostgreSQL alike.
- Open waits: at most LLM_MAX_OPEN_WAITS_PER_TOKEN calls of one token wait for their answer or
  stream it at once (429 with Retry-After), so no token holds the box's connections. Counted
  in the web process (`open_wait()`), like the rates in the local cache.
"""

import json
import threading
from collections import Counter, namedtuple
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from llm.models import ApiToken, Lease
from llm.queue import policy

# The row whose lock admits one request into the queue at a time (a Lease row, never held
# as a lease: the lock lasts one transaction).
QUEUE_GATE = "queue-gate"


class Refused(Exception):
    """A generation the limits do not let in."""


class TextTooLong(Refused):
    """413: more text than LLM_MAX_PROMPT_CHARS."""


class RateLimited(Refused):
    """429: the token queued more generations than its rate allows."""

    def __init__(self, wait):
        self.wait = wait
        super().__init__(f"Too many generations for this token; try again in {int(wait or 0) + 1} seconds")


class QueueFull(Refused):
    """503: more requests wait than LLM_MAX_QUEUE_LENGTH allows."""

    retry_after = 5


class TooManyOpenWaits(Refused):
    """429: the token already has LLM_MAX_OPEN_WAITS_PER_TOKEN calls waiting or streaming."""

    retry_after = 5


# --- Open waits ----------------------------------------------------------------------------------

# A token's calls waiting or streaming now, in this process, by the token's key hash: unique for
# ever, where a primary key can be handed out again (SQLite reuses one whose row is gone).
_open_waits = Counter()
_open_waits_lock = threading.Lock()


class OpenWait:
    """One place among a token's open waits; `release()` gives it back (once, whoever calls it first)."""

    def __init__(self, key):
        self.key = key

    def release(self):
        with _open_waits_lock:
            if self.key is None:
                return
            _open_waits[self.key] -= 1
            if _open_waits[self.key] <= 0:
                del _open_waits[self.key]
            self.key = None


def open_wait(token: ApiToken | None) -> OpenWait:
    """A place for one more call of `token` that waits or streams; TooManyOpenWaits when it has
    LLM_MAX_OPEN_WAITS_PER_TOKEN already. No token (the dashboard) or a cap of 0: no limit."""
    cap = settings.LLM_MAX_OPEN_WAITS_PER_TOKEN
    if token is None or not cap:
        return OpenWait(None)
    with _open_waits_lock:
        if _open_waits[token.key_hash] >= cap:
            raise TooManyOpenWaits(
                f"This token already has {cap} calls waiting or streaming (LLM_MAX_OPEN_WAITS_PER_TOKEN); "
                f"try again when one has ended"
            )
        _open_waits[token.key_hash] += 1
    return OpenWait(token.key_hash)


def open_waits(token):
    """How many calls of `token` wait or stream now in this process."""
    return _open_waits.get(token.key_hash, 0)


# --- Text --------------------------------------------------------------------------------------


def check_text(
    prompt: str | None = "",
    system: str | None = "",
    messages: list | None = None,
    input: list | None = None,
    tools: list | None = None,
) -> None:
    """Raise TextTooLong when a field the model reads is longer than LLM_MAX_PROMPT_CHARS.

    `input`: an embed's texts, counted together like a chat's messages. A message counts its
    content, its thinking and its tool calls (as JSON); `tools`, a chat's tool definitions,
    count as the JSON the model reads them from.
    """
    limit = settings.LLM_MAX_PROMPT_CHARS
    sizes = {
        "prompt": _length(prompt),
        "system": _length(system),
        "messages": sum(_message_length(message) for message in messages or [] if isinstance(message, dict)),
        "input": sum(_length(text) for text in input or []),
        "tools": len(json.dumps(tools)) if tools else 0,
    }
    for field, size in sizes.items():
        if size > limit:
            together = " (all their contents together)" if field in ("messages", "input", "tools") else ""
            raise TextTooLong(f"{field}: longer than the {limit} characters allowed{together}")


def _length(text):
    return len(text) if isinstance(text, str) else 0


def _message_length(message):
    calls = message.get("tool_calls")
    return _length(message.get("content")) + _length(message.get("thinking")) + (len(json.dumps(calls)) if calls else 0)


# --- Rates ---------------------------------------------------------------------------------------

_Caller = namedtuple("_Caller", "auth")  # what a throttle reads of a request: its token


class TokenRateThrottle(SimpleRateThrottle):
    """Every API call, counted per token, at its role's rate. DRF's default throttle."""

    scope = "token"

    def __init__(self):
        # The rate depends on the caller's role, so it is chosen in allow_request.
        self.rate = self.num_requests = self.duration = None

    def allow_request(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            return True  # refused before this by the permissions, or the dashboard: nothing to count
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(f"{self.scope}.{token.role}")
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.token = token
        return super().allow_request(request, view)

    def throttle_failure(self):
        # The usage page counts refusals. A call meets at most one refusal: the view (and with it
        # the generation rate) is not reached once the rate of every call refuses.
        self.token.count_refusal()
        return False

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class GenerationRateThrottle(TokenRateThrottle):
    """Generations queued, per token: the expensive calls. Counted by `check_generation_rate`."""

    scope = "generation"


def check_generation_rate(token: ApiToken | None) -> None:
    """Count one generation for `token`; RateLimited when past its rate. No token (the dashboard): no limit."""
    throttle = GenerationRateThrottle()
    if not throttle.allow_request(_Caller(token), None):
        raise RateLimited(throttle.wait())


# --- The queue bound -------------------------------------------------------------------------------


@contextmanager
def queue_place():
    """A transaction in which one more request may be stored, or QueueFull.

    Admissions take turns on a row lock (an UPDATE: a row lock on PostgreSQL; on SQLite the write
    lock its BEGIN IMMEDIATE takes) held until commit, so the count below sees every request admitted before.
    """
    with transaction.atomic():
        _lock_gate()
        if policy.queue_length() >= settings.LLM_MAX_QUEUE_LENGTH:
            raise QueueFull(f"The queue is full ({settings.LLM_MAX_QUEUE_LENGTH} requests wait); try again shortly")
        yield


def _lock_gate():
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite" and db.settings_dict.get("OPTIONS", {}).get("transaction_mode") == "IMMEDIATE":
        return  # its BEGIN IMMEDIATE took the write lock already: one statement fewer per request
    if Lease.objects.filter(name=QUEUE_GATE).update(holder=""):
        return
    try:
        with transaction.atomic():  # first use on this database: make the row
            Lease.objects.create(name=QUEUE_GATE)
    except IntegrityError:
        pass  # someone else made it
    Lease.objects.filter(name=QUEUE_GATE).update(holder="")

