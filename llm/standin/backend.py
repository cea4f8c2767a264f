"""Text generation backends of the stand-in.

A backend turns (model, prompt or chat messages, options) into a stream of
tokens.  The server owns timing, ``num_predict`` and ``stop``; the backend only
says what the text is.  ``EchoBackend`` is deterministic so tests can tell
prompts apart; a real-inference backend can later implement the same two
methods.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Protocol


class Backend(Protocol):
    def tokens(self, model: str, prompt_or_messages, options: dict) -> Iterator[str]: ...

    def count_prompt_tokens(self, model: str, prompt_or_messages) -> int: ...


def prompt_text(prompt_or_messages) -> str:
    """The text a reply is derived from: the prompt, or the last user message."""
    if isinstance(prompt_or_messages, str):
        return prompt_or_messages
    for message in reversed(prompt_or_messages or []):
        if isinstance(message, dict) and message.get("role", "user") == "user":
            return str(message.get("content") or "")
    return ""


def token_id(token: str) -> int:
    return zlib.crc32(token.encode()) % 128_000 + 1


class EchoBackend:
    """Replies "echo: <words of the prompt>".

    Without ``options.num_predict`` the reply is one pass over the prompt's
    words (so it ends on its own, done_reason "stop", unless the server's
    default cap of 24 tokens cuts it).  With an explicit positive
    ``num_predict`` the words cycle, so the reply has exactly that many tokens
    (done_reason "length") -- handy for long streams."""

    def tokens(self, model: str, prompt_or_messages, options: dict) -> Iterator[str]:
        words = prompt_text(prompt_or_messages).split()
        yield "echo:"
        if not words:
            return
        explicit = isinstance(options.get("num_predict"), (int, float)) and options["num_predict"] > 0
        while True:
            for word in words:
                yield " " + word
            if not explicit:
                return

    def count_prompt_tokens(self, model: str, prompt_or_messages) -> int:
        if isinstance(prompt_or_messages, str):
            return len(prompt_or_messages.split()) + 1
        return sum(len(str(m.get("content") or "").split()) + 4 for m in prompt_or_messages if isinstance(m, dict))
