"""Running queued generations (and embeds: they load a model too), strictly one at a time.

The worker's task and /queue/process both call `drain()`. Each generation is
claimed and run inside the engine lease, so two processes never run two
generations at once, and the atomic claim means no request is ever run by both.
"""

import logging
import time
from contextlib import closing

from django.conf import settings

from llm import catalog
from llm.engine import residency
from llm.queue import policy, wakeups
from llm.models import GenerationRequest
from llm.engine.ollama import OllamaError, OllamaUnavailable, client

log = logging.getLogger(__name__)


# How often the text so far is stored while nobody streams it: for GET requests/<id>,
# and a cancel is noticed at the next store.
UNFOLLOWED_FLUSH_SECONDS = 1.0


class GenerationTimeout(OllamaError):
    pass


def drain(max_iterations=None, lease_wait=0.0):
    """Run waiting requests until none is left (or `max_iterations` ran).

    Returns how many this call ran. When another process holds the engine it
    returns at once: that holder drains the queue, and looks for new requests
    only after releasing the lease, so a request stored meanwhile is not missed.
    """
    processed = 0
    while max_iterations is None or processed < max_iterations:
        # Running ones count too: if their worker died, the next holder recovers them.
        if not GenerationRequest.objects.unfinished().exists():
            break
        with residency.engine(wait=lease_wait) as holder:
            if holder is None:
                break
            recover_orphans(holder)
            request = _claim_next(holder)
            if request is not None:
                execute(request)
                processed += 1
    return processed


def recover_orphans(holder):
    """Requests left `running` by a worker that died (SIGKILL, OOM killer, reboot).

    Only the engine's holder runs a request, so while we hold it, any other
    running request is an orphan: it goes back in line if it stored no text yet,
    else it fails, as a reply that broke off does (a streaming client may hold
    its first words). It fails too once it has had LLM_MAX_ATTEMPTS runs. Call it
    only while holding the engine.
    """
    for orphan in GenerationRequest.objects.running().exclude(worker=holder):
        if orphan.attempts >= settings.LLM_MAX_ATTEMPTS:
            orphan.fail(f"The worker stopped while running this request, {orphan.attempts} times; giving up")
        elif orphan.requeue(f"Interrupted (attempt {orphan.attempts}): the worker stopped; running it again"):
            log.warning("Re-running %s: its worker %s stopped while running it", orphan.request_id, orphan.worker)
        else:
            log.warning("%s fails: its worker %s stopped in the middle of the reply", orphan.request_id, orphan.worker)
            orphan.fail("The worker stopped in the middle of the reply; it is not run again, "
                        "as a client may already hold its first words")


def _claim_next(holder):
    # Another process can claim between our pick and our claim; pick again then.
    while (request := policy.next_request()) is not None:
        if request.claim(holder):
            return request
    return None


def execute(request):
    """Load the model if need be and generate (or embed); the request ends done, failed or cancelled."""
    log.info("Running %s on %s", request.request_id, request.model)
    try:
        text, final = _run_with_retries(request)
    except Cancelled:
        log.info("%s was cancelled while running", request.request_id)
        return
    except (OllamaError, catalog.UnknownModel) as exc:
        log.warning("%s failed: %s", request.request_id, exc)
        request.fail(_describe(exc), bad_input=getattr(exc, "status_code", None) == 400)
        return
    except Exception:
        log.exception("%s failed unexpectedly", request.request_id)
        request.fail("Internal error in the worker")
        raise
    request.finish(text, final)


class Cancelled(Exception):
    pass


def _run_with_retries(request):
    """While Ollama is unreachable, wait and try again with a growing pause, for up to
    LLM_OLLAMA_RETRY_SECONDS; then the request fails saying so. Other errors fail at once,
    and so does a reply that broke off after some text was stored: a client may have
    streamed that text already, and a second run would not write the same words."""
    entry = catalog.get(request.model)
    give_up_at = time.monotonic() + settings.LLM_OLLAMA_RETRY_SECONDS
    pause = 0.5
    while True:
        try:
            residency.ensure_loaded(entry.tag)
            run = _embed if request.kind == GenerationRequest.Kind.EMBED else _generate
            return run(entry.tag, request)
        except OllamaUnavailable as exc:
            if request.response:
                raise
            if time.monotonic() + pause > give_up_at:
                raise OllamaUnavailable(
                    f"{exc}; gave up after retrying for {settings.LLM_OLLAMA_RETRY_SECONDS:g}s"
                ) from exc
            log.warning("%s: %s; trying again in %.1fs", request.request_id, exc, pause)
            if not request.save_partial(""):  # also tells whether it was cancelled meanwhile
                raise Cancelled() from exc
            time.sleep(pause)
            pause = min(pause * 2, 10)


def ollama_payload(request, tag):
    """The body Ollama gets: the client's own fields, but our model tag and keep-alive
    (a client may not pin a model in memory past the gateway's policy)."""
    payload = {**request.extra, "model": tag, "options": request.options, "keep_alive": settings.LLM_KEEP_ALIVE}
    if request.kind == GenerationRequest.Kind.CHAT:
        payload["messages"] = request.messages or []
    elif request.kind == GenerationRequest.Kind.EMBED:
        payload["input"] = request.input or []
    else:
        payload["prompt"] = request.prompt
    return payload


def _embed(tag, request):
    """One call to Ollama's /api/embed: its answer has the vectors and the counters (no text)."""
    return "", client().embed(ollama_payload(request, tag))


def _generate(tag, request):
    """Stream from Ollama; add the new text to the row every LLM_STREAM_FLUSH_SECONDS
    while a client streams it, else every UNFOLLOWED_FLUSH_SECONDS.

    Each store wakes the clients streaming this request and tells us whether it
    was cancelled meanwhile; leaving the loop closes the connection, which makes
    Ollama stop generating. Nobody streaming it (a client waits for the whole
    answer, or will ask later), the text is stored less often: on a CPU-only box
    every store is CPU taken from the model (docs/benchmarks.md, "Relay").
    """
    chat = request.kind == GenerationRequest.Kind.CHAT
    payload = ollama_payload(request, tag)
    deadline = time.monotonic() + settings.LLM_GENERATION_TIMEOUT
    parts, stored, flushed_at = [], 0, None  # stored: how many parts the row holds
    following = wakeups.text_channel(request.request_id)
    every = settings.LLM_STREAM_FLUSH_SECONDS
    with closing(client().chat(payload) if chat else client().generate(payload)) as chunks:
        for chunk in chunks:
            parts.append((chunk.get("message") or {}).get("content", "") if chat else chunk.get("response") or "")
            if chunk.get("done"):
                return "".join(parts), chunk
            now = time.monotonic()
            if now > deadline:
                raise GenerationTimeout(
                    f"Generation ran past LLM_GENERATION_TIMEOUT ({settings.LLM_GENERATION_TIMEOUT}s)"
                )
            if flushed_at is None or now - flushed_at >= every:
                if not request.save_partial("".join(parts[stored:])):
                    raise Cancelled()
                stored, flushed_at = len(parts), now
                every = settings.LLM_STREAM_FLUSH_SECONDS if wakeups.listening(following) else UNFOLLOWED_FLUSH_SECONDS
    raise OllamaError("Ollama ended the reply before the generation was done")


def _describe(exc):
    if isinstance(exc, catalog.UnknownModel):
        return f"Model {exc} is not in the catalog"
    return str(exc)
