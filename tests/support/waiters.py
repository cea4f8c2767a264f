"""Many clients at once against a running Service, each waiting for its answer or streaming it.

    outcomes = asyncio.run(crowd(service.url, tokens, count=200))

Client n asks for "client n" (the stand-in's echo backend answers "echo: client n") through one
of the five ways below, in turn, with the n-th token in turn; an Outcome says whether the whole
answer came back, through the door's own shape. Used by tests/e2e/test_many_waiters.py and
bench/waiters.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx

MODEL = "llama3.2:1b"
KINDS = ("native wait", "native stream", "openai", "openai stream", "ollama stream")


@dataclass
class Outcome:
    kind: str
    expected: str
    text: str = ""
    error: str = ""
    seconds: float = 0.0
    queued_lines: int = 0  # "queued" lines or comments seen while waiting

    @property
    def complete(self):
        return not self.error and self.text == self.expected


async def crowd(url, tokens, count, timeout=900.0):
    """Run `count` clients at once; their Outcomes, in order."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits, trust_env=False) as client:
        return await asyncio.gather(
            *(one_client(client, tokens[n % len(tokens)], KINDS[n % len(KINDS)], n) for n in range(count))
        )


async def one_client(client, token, kind, n):
    prompt = f"client {n}"
    outcome = Outcome(kind, expected=f"echo: {prompt}")
    headers = {"Authorization": f"Bearer {token}"}
    began = time.monotonic()
    try:
        await WAYS[kind](client, headers, prompt, outcome)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
    outcome.seconds = time.monotonic() - began
    return outcome


async def _native_wait(client, headers, prompt, outcome):
    response = await client.post("/api/v1/llm/generate", headers=headers, json={"model": MODEL, "prompt": prompt, "wait": True})
    body = response.json()
    if response.status_code != 200 or not body.get("done"):
        outcome.error = f"{response.status_code} {body}"
    outcome.text = body.get("response", "")


async def _lines(client, path, headers, body):
    async with client.stream("POST", path, headers=headers, json=body) as response:
        if response.status_code != 200:
            await response.aread()
            raise ValueError(f"{response.status_code} {response.text}")
        async for line in response.aiter_lines():
            if line:
                yield line


async def _native_stream(client, headers, prompt, outcome):
    last = None
    async for line in _lines(client, "/api/v1/llm/generate", headers, {"model": MODEL, "prompt": prompt, "stream": True}):
        last = json.loads(line)
        if last.get("status") == "queued":
            outcome.queued_lines += 1
        outcome.text += last.get("response", "")
    if not (last and last.get("done") and last.get("success")):
        outcome.error = f"last line {last}"


async def _openai(client, headers, prompt, outcome):
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}]}
    response = await client.post("/v1/chat/completions", headers=headers, json=body)
    if response.status_code != 200:
        outcome.error = f"{response.status_code} {response.text}"
        return
    outcome.text = response.json()["choices"][0]["message"]["content"]


async def _openai_stream(client, headers, prompt, outcome):
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True}
    done = False
    async for line in _lines(client, "/v1/chat/completions", headers, body):
        if line.startswith(":"):
            outcome.queued_lines += 1
        elif line == "data: [DONE]":
            done = True
        elif line.startswith("data: "):
            chunk = json.loads(line[len("data: "):])
            if "error" in chunk:
                outcome.error = str(chunk["error"])
            for choice in chunk["choices"]:
                outcome.text += choice["delta"].get("content", "")
    if not done:
        outcome.error = outcome.error or "no [DONE]"


async def _ollama_stream(client, headers, prompt, outcome):
    last = None
    async for line in _lines(client, "/ollama/api/generate", headers, {"model": MODEL, "prompt": prompt}):
        last = json.loads(line)
        outcome.text += last.get("response", "")
    if not (last and last.get("done")) or "error" in last:
        outcome.error = f"last line {last}"


WAYS = {
    "native wait": _native_wait,
    "native stream": _native_stream,
    "openai": _openai,
    "openai stream": _openai_stream,
    "ollama stream": _ollama_stream,
}


async def time_calls(client, path, headers, stop, interval=0.05):
    """GET `path` every `interval` seconds until `stop` is set: [(seconds, status)]."""
    timings = []
    while not stop.is_set():
        began = time.monotonic()
        try:
            status = (await client.get(path, headers=headers)).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        timings.append((time.monotonic() - began, status))
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
    return timings


def threads_of_session(leader):
    """Threads of every live process in the session `leader` started (its processes' `Threads:`)."""
    from pathlib import Path

    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[3]) != leader:  # the session id
                continue
            total += int(next(line.split()[1] for line in (entry / "status").read_text().splitlines()
                              if line.startswith("Threads:")))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


HOLD = "from llm.models import Lease; Lease.try_acquire(Lease.ENGINE, 'a test holding the queue', 3600)"
LET_GO = ("from llm.models import Lease; from llm.queue import tasks; "
          "Lease.objects.filter(name=Lease.ENGINE).update(holder='', expires_at=None); tasks.wake_generation_worker()")


class HeldQueue:
    """Nothing runs while this holds the engine's lease, so every client keeps waiting; `let_go()`
    frees it and wakes the worker (as a holder letting go does)."""

    def __init__(self, service):
        self.service = service
        service.manage("shell", "-c", HOLD)
        self.held = True

    def let_go(self):
        if self.held:
            self.service.manage("shell", "-c", LET_GO)
            self.held = False
