"""Running queued generations (and embeds: they load a model too), one at a time per node.

The worker's task and /queue/process both call `drain()`. Each generation is
claimed and run inside its node's engine lease, so two processes never run two
generations at once on a node, and the atomic claim means no request is ever run by both.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from llm import catalog
from llm.engine import nodes, residency
from llm.engine.ollama import OllamaError, OllamaUnavailable
from llm.models import GenerationRequest, Lease, rows
from llm.queue import fleet, policy, relay
from llm.queue.relay import Cancelled

log = logging.getLogger(__name__)


def drain(max_iterations=None, lease_wait=0.0):
    """Run waiting requests until none is left (or `max_iterations` ran).

    Returns how many this call ran. Each request runs on a node whose lease this
    call holds; when every node is held by another process it returns at once:
    those holders look for new requests only after releasing their lease, so a
    request stored meanwhile is not missed. In a fleet, claiming a request wakes
    another worker process for the other nodes, so they run side by side.
    """
    processed = 0
    while max_iterations is None or processed < max_iterations:
        if run_next(lease_wait) != RAN:
            break
        processed += 1
    return processed


# What `run_next()` did.
RAN = "ran"
NOTHING_WAITS = "nothing waits"
BUSY = "busy"  # work waits, but not for a node this call could hold (another holder wakes a worker when it lets go)


def run_next(lease_wait=0.0, hand_on=True):
    """Run the next request on a free node: RAN, NOTHING_WAITS or BUSY.

    `hand_on=False`: letting go of the node wakes nobody, as the caller looks at the
    queue again itself (a task running requests back to back, llm/queue/linger.py).
    """
    # Running ones count too: if their worker died, the next holder recovers them. With none
    # running a moment ago there is nothing to recover (a request left running since is found
    # at the next look).
    statuses = _unfinished_statuses()
    if not statuses:
        return NOTHING_WAITS
    recover = GenerationRequest.Status.RUNNING in statuses
    return RAN if _run_one(lease_wait, hand_on, recover) else BUSY


def _unfinished_statuses():
    """{the statuses of the unfinished requests}: one statement, asked after every request."""
    return {status for (status,) in _UNFINISHED_STATUSES.values()}


_UNFINISHED_STATUSES = rows.Query(
    lambda: GenerationRequest.objects.unfinished().order_by().values_list("status", flat=True).distinct())


def _run_one(lease_wait, hand_on=True, recover=True):
    """Take a free node, claim the request the scheduler gives it and run it. False: nothing ran."""
    if not nodes.is_fleet():
        candidates, wait = [nodes.first()], lease_wait
    else:
        nodes.check_due()
        candidates, wait = fleet.nodes_to_try(), 0.0
    from llm.queue import tasks  # it imports this module

    for node in candidates:
        # A request stored (its created_at) shortly before it became visible may have found this
        # node's lease taken by us: a second's margin, so its wake-up is not lost.
        looked_at = timezone.now() - timedelta(seconds=1)
        wake = False
        try:
            with residency.engine(wait=wait, node=node, wake=False) as holder:
                if holder is None:
                    continue
                recovered = recover and recover_orphans(holder, node)
                request = _claim_next(holder, node)
                if request is None:
                    # Nothing for this node: letting go wakes nobody, or free nodes would wake each other
                    # without end while the work waits for a busy one; unless work came in meanwhile.
                    wake = recovered or GenerationRequest.objects.waiting().filter(created_at__gte=looked_at).exists()
                    continue
                wake = True
                if len(candidates) > 1 and GenerationRequest.objects.waiting().exists():
                    tasks.wake_generation_worker()  # another process for the other nodes
                execute(request, node)
                return True
        finally:
            if wake and hand_on:  # once the lease is let go: the task woken may want this node
                tasks.engine_released()
    return False


def recover_orphans(holder, node=None):
    """Requests left `running` by a worker that died (SIGKILL, OOM killer, reboot).

    A request runs only while its worker holds its node's lease, so a running
    request whose worker no longer holds it is an orphan: on our own node (whose
    lease we hold), or on any node whose lease ran out. It goes back in line if it
    stored no text yet, else it fails, as a reply that broke off does (a streaming
    client may hold its first words). It fails too once it has had LLM_MAX_ATTEMPTS
    runs. Call it only while holding a node's engine.
    """
    node, recovered = node or nodes.first(), 0
    for orphan in GenerationRequest.objects.running().exclude(worker=holder):
        ran_on = orphan.node or nodes.first()
        if ran_on != node and Lease.current_holder(Lease.engine(ran_on)) == orphan.worker:
            continue  # it runs on another node, whose worker holds it
        recovered += 1
        if orphan.attempts >= settings.LLM_MAX_ATTEMPTS:
            orphan.fail(f"The worker stopped while running this request, {orphan.attempts} times; giving up")
        elif orphan.requeue(f"Interrupted (attempt {orphan.attempts}): the worker stopped; running it again"):
            log.warning("Re-running %s: its worker %s stopped while running it", orphan.request_id, orphan.worker)
        else:
            log.warning("%s fails: its worker %s stopped in the middle of the reply", orphan.request_id, orphan.worker)
            orphan.fail("The worker stopped in the middle of the reply; it is not run again, "
                        "as a client may already hold its first words")
    return recovered


def _claim_next(holder, node):
    # Another process can claim between our pick and our claim; pick again then.
    while (pk := policy.next_pk(node)) is not None:
        if (request := GenerationRequest.objects.claim(pk, holder, node if nodes.is_fleet() else "")) is not None:
            return request
    return None


def execute(request, node=None):
    """Load the model on `node` if need be and generate (or embed); the request ends done,
    failed or cancelled, or goes back in line for another node when this one stopped answering."""
    node = node or nodes.first()
    log.info("Running %s on %s (node %s)", request.request_id, request.model, node)
    row = nodes.get(node)
    if nodes.is_fleet():
        row.mark_used()  # the fleet loads a cold model on the node used least recently
    try:
        text, final = _run_with_retries(request, row)
    except Cancelled:
        log.info("%s was cancelled while running", request.request_id)
        return
    except NodeDown as exc:
        if request.requeue(f"{exc}; running it on another node"):
            log.warning("%s goes back in line: %s", request.request_id, exc)
        else:
            request.fail(f"{exc} in the middle of the reply")
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


class NodeDown(OllamaUnavailable):
    """The node stopped answering before any text was stored, and another node can run the request."""


def _run_with_retries(request, row):
    """While the node's Ollama is unreachable, wait and try again with a growing pause, for up
    to LLM_OLLAMA_RETRY_SECONDS; then the request fails saying so. In a fleet the node is
    marked down instead, and the request goes to another node that has its model. Other
    errors fail at once, and so does a reply that broke off after some text was stored: a
    client may have streamed that text already, and a second run would not write the same words."""
    entry, node = catalog.get(request.model), row.name
    give_up_at = time.monotonic() + settings.LLM_OLLAMA_RETRY_SECONDS
    pause = 0.5
    while True:
        try:
            residency.ensure_loaded(entry.tag, node, row=row)
            run = _embed if request.kind == GenerationRequest.Kind.EMBED else _generate
            return run(entry.tag, request, node)
        except OllamaUnavailable as exc:
            if nodes.is_fleet():
                nodes.failed(row, exc)
                if not request.has_output and fleet.others_can_run(request.model, node):
                    raise NodeDown(f"Node {node} stopped answering ({exc})") from exc
            if request.has_output:
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
        except OllamaError:
            row.forget_resident()  # what it holds now is no longer sure
            raise


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


def _embed(tag, request, node):
    """One call to Ollama's /api/embed: its answer has the vectors and the counters (no text)."""
    return "", nodes.ollama(node).embed(ollama_payload(request, tag))


def _generate(tag, request, node):
    """Stream from Ollama, relaying the text to the row and to whoever streams it (llm/queue/relay.py)."""
    return relay.generate(tag, request, node, ollama_payload(request, tag))


def _describe(exc):
    if isinstance(exc, catalog.UnknownModel):
        return f"Model {exc} is not in the catalog"
    return str(exc)
