"""What the web side does with the queue: store work, wake the worker, wait for results.

Every generation, through any door, is stored by `submit_generation`, which applies the
limits of llm/rules/limits.py (text size, generation rate, the queue bound).
"""

import asyncio
import functools
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from llm.engine import nodes as fleet_nodes
from llm.engine import pulls
from llm.queue import offthread, tasks
from llm.models import GenerationRequest
from llm.rules import limits


def submit_generation(token, model, prompt="", options=None, **fields):
    """Store a generation (or an embed) and wake the worker. `fields`: kind, messages, input, extra, source.

    Raises limits.TextTooLong, limits.RateLimited (per `token`) or limits.QueueFull.
    """
    extra = fields.get("extra") or {}
    limits.check_text(prompt, extra.get("system"), fields.get("messages"), fields.get("input"), extra.get("tools"))
    with limits.queue_place():
        limits.check_generation_rate(token)  # after the bound: a 503 costs the token no generation
        request = _insert(GenerationRequest(token=token, model=model, prompt=prompt, options=options or {}, **fields))
        # Wake the worker only once the row is visible to it.
        transaction.on_commit(tasks.wake_generation_worker)
    return request


def _insert(request):
    """`request.save()` for a new row, with the INSERT written once: the ORM builds and compiles it
    anew for every request, which cost the web server as much CPU as the rest of storing it (1.3 ms
    where this takes 0.6: the values made ready by each field as the ORM makes them, and the write)."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each look through `django.db.connection` costs a context lookup
    values = [field.get_db_prep_save(field.pre_save(request, True), db) for field in _insert_fields()]
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(db.vendor), values)
        request.pk = cursor.fetchone()[0] if db.features.can_return_columns_from_insert else cursor.lastrowid
    request._state.adding, request._state.db = False, db.alias
    return request


@functools.cache
def _insert_fields():
    return [field for field in GenerationRequest._meta.concrete_fields if not field.primary_key]


@functools.cache
def _insert_sql(vendor):
    meta, quote = GenerationRequest._meta, connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in _insert_fields())
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(_insert_fields()))})"
    return sql + f" RETURNING {quote(meta.pk.column)}" if connection.features.can_return_columns_from_insert else sql


def submit_pulls(names, token=None, nodes=None):
    """A pull of each model to each of `nodes` (None: every node of the fleet)."""
    targets = nodes or fleet_nodes.names()
    pending = [pulls.request_pull(name, token, node) for name in names for node in targets]
    tasks.wake_pull_worker()
    return pending


def nothing_ahead():
    """True when a new request would start at once: nobody waiting, nothing running."""
    return not GenerationRequest.objects.unfinished().exists()


async def wait_for(records, timeout):
    """Wait without a thread until every record is finished or `timeout` seconds pass,
    looking every LLM_POLL_SECONDS; returns them refreshed. For pulls, on admin calls (their
    progress is in the database, with no wake-up): a generation's client is woken by the
    process's hub instead (llm/queue/follow.py)."""
    deadline = time.monotonic() + timeout
    while True:
        await offthread.run(_refresh_unfinished, records)
        remaining = deadline - time.monotonic()
        if all(record.is_finished for record in records) or remaining <= 0:
            return records
        await asyncio.sleep(min(settings.LLM_POLL_SECONDS, remaining))


def _refresh_unfinished(records):
    for record in records:
        if not record.is_finished:
            record.refresh_from_db()


def clear_waiting():
    """Cancel every request not yet started; the running one goes on. Returns how many."""
    waiting = list(GenerationRequest.objects.waiting())
    return sum(request.cancel("Cleared from the queue") for request in waiting)
