"""Generations: the durable queue, one row a request (a generation, a chat or an embed)."""

import secrets
from functools import lru_cache

from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from llm.queue import wakeups
from llm.models import rows
from llm.models.counters import Counter
from llm.models.tokens import ApiToken


def new_request_id():
    return f"req_{secrets.token_hex(8)}"


class GenerationQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(status=GenerationRequest.Status.QUEUED)

    def running(self):
        return self.filter(status=GenerationRequest.Status.RUNNING)

    def unfinished(self):
        return self.filter(status__in=GenerationRequest.UNFINISHED)

    def claim(self, pk, worker, node=""):
        """Take request `pk` if it still waits, to run on `node`: the request, running, or None
        when someone else has it (another worker claimed it, or a client cancelled it).

        One statement claims it and reads the row (UPDATE ... RETURNING), written once:
        the worker pays it for every request, and the ORM's building of it cost more
        than running it. Only a waiting row changes, so two claims never both win.
        """
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        params = [WorkStatus.RUNNING, now, worker, node, pk, WorkStatus.QUEUED]
        return next(iter(rows.fetch(GenerationRequest, _claim_sql(connection.vendor), params)), None)


# A request that still has text of its own (llm/retention.py removes it after LLM_KEEP_REQUEST_TEXT_DAYS).
# Its thinking and tool calls need no term here: a request that has them has a prompt or messages.
HAS_TEXT = ~Q(prompt="") | ~Q(response="") | Q(messages__isnull=False) | ~Q(extra={})


class WorkStatus(models.TextChoices):
    """Where a generation or a pull stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class GenerationRequest(models.Model):
    Status = WorkStatus

    class Kind(models.TextChoices):
        GENERATE = "generate"  # Ollama's /api/generate: a prompt
        CHAT = "chat"  # Ollama's /api/chat: messages
        EMBED = "embed"  # Ollama's /api/embed: texts in, vectors out

    class Source(models.TextChoices):
        API = "api", "our API"
        OLLAMA = "ollama", "Ollama-compatible API"
        OPENAI = "openai", "OpenAI-compatible API"
        DASHBOARD = "dashboard"

    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    request_id = models.CharField(max_length=40, unique=True, default=new_request_id, editable=False)
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GENERATE)
    model = models.CharField(max_length=200, help_text="The catalog name the client asked for.")
    prompt = models.TextField(blank=True)
    messages = models.JSONField(null=True, blank=True, help_text="For chat: Ollama's messages.")
    input = models.JSONField(null=True, blank=True, help_text="For embed: the texts to embed.")
    options = models.JSONField(default=dict, blank=True, help_text="Ollama options, max_tokens already mapped.")
    extra = models.JSONField(
        default=dict, blank=True, help_text="Other Ollama request fields passed through (system, format, ...)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    response = models.TextField(blank=True)
    thinking = models.TextField(blank=True, help_text="What the model thought before answering (Ollama's `think`).")
    tool_calls = models.JSONField(
        null=True, blank=True, help_text="The tools the model called, as Ollama gives them (arguments an object)."
    )
    embeddings = models.JSONField(null=True, blank=True, help_text="For embed: one vector per text, from Ollama.")
    error = models.TextField(blank=True)
    bad_input = models.BooleanField(
        default=False, help_text="Failed because Ollama refused the request's own input (its 400), not for a fault."
    )
    done_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True, help_text="Who ran it last (host:pid:...).")
    node = models.CharField(max_length=40, blank=True, help_text="The node (LLM_NODES) that ran it last.")
    # Ollama's own figures for the generation; durations in nanoseconds.
    prompt_eval_count = models.PositiveIntegerField(null=True, blank=True)
    eval_count = models.PositiveIntegerField(null=True, blank=True)
    total_duration = models.BigIntegerField(null=True, blank=True)
    load_duration = models.BigIntegerField(null=True, blank=True)
    prompt_eval_duration = models.BigIntegerField(null=True, blank=True)
    eval_duration = models.BigIntegerField(null=True, blank=True)

    objects = GenerationQuerySet.as_manager()

    OLLAMA_COUNTERS = (
        "prompt_eval_count",
        "eval_count",
        "total_duration",
        "load_duration",
        "prompt_eval_duration",
        "eval_duration",
    )

    class Meta:
        indexes = [
            models.Index(fields=["status", "created_at"]),
            # The queue policy's oldest waiting request (llm/queue/policy.py): without it, SQLite walks
            # the whole table in pk order looking for a queued row.
            models.Index(fields=["status", "id"], name="llm_request_status_id"),
            # The dashboard's last finished and its history (llm/dashboard/history.py), the prune's
            # cut-off (llm/retention.py).
            models.Index(fields=["finished_at"], name="llm_request_finished_at"),
            # The requests that still have their text, which only the prune reads: a small index
            # (the last LLM_KEEP_REQUEST_TEXT_DAYS) that spares it a walk through the whole table.
            models.Index(fields=["finished_at"], condition=HAS_TEXT, name="llm_request_with_text"),
        ]
        ordering = ["-created_at"]

    def __str__(self):
        return self.request_id

    @property
    def is_finished(self):
        return self.status not in self.UNFINISHED

    def requeue(self, reason):
        """Put a request whose run was cut short back in line (it keeps its place).

        Only if the run stored no output (text, thinking, tool calls): a streaming client may hold those words,
        and a second run would not write the same ones. False: not put back.
        """
        requeued = GenerationRequest.objects.filter(
            pk=self.pk, status=self.Status.RUNNING, response="", thinking="", tool_calls__isnull=True
        ).update(status=self.Status.QUEUED, started_at=None, error=reason)
        self.refresh_from_db()
        return bool(requeued)

    def claim(self, worker, node=""):
        """Take this request if it is still waiting, to run on `node`. False: someone else has it.
        (The worker claims by pk, `GenerationRequest.objects.claim`, and gets the row from it.)"""
        claimed = GenerationRequest.objects.claim(self.pk, worker, node)
        if claimed is not None:
            self.__dict__.update({name: getattr(claimed, name) for name in ("status", "started_at", "worker",
                                                                             "node", "attempts")})
        return claimed is not None

    @property
    def has_output(self):
        """Whether the run stored anything a client may have streamed: text, thinking or tool calls."""
        return bool(self.response or self.thinking or self.tool_calls)

    def finish(self, response, final_chunk):
        """Done: `final_chunk` is Ollama's last chunk of a generation (with the whole `thinking` and
        `tool_calls` of the reply, llm/queue/runner.py), or its answer to an embed."""
        counters = {name: final_chunk.get(name) for name in self.OLLAMA_COUNTERS}
        self._end(
            self.Status.DONE,
            response=response,
            thinking=final_chunk.get("thinking") or "",
            tool_calls=final_chunk.get("tool_calls") or None,
            done_reason=final_chunk.get("done_reason") or "",
            embeddings=final_chunk.get("embeddings"),
            **counters,
        )

    def fail(self, reason, bad_input=False):
        """Failed; `bad_input`: Ollama refused what the client sent (a door may answer 400)."""
        self._end(self.Status.FAILED, error=str(reason), bad_input=bad_input)

    def abandon(self, reason):
        """Fail a request whether it waits or runs (a running one stops at its next checkpoint).
        False when it had already ended."""
        return self._end(self.Status.FAILED, error=str(reason), only_from=self.UNFINISHED)

    def cancel(self, reason="Cancelled"):
        """Cancel a waiting or running request; a running one stops at its next checkpoint."""
        return self._end(self.Status.CANCELLED, error=reason, only_from=self.UNFINISHED)

    def save_partial(self, more, thinking="", tool_calls=None, wake=True):
        """Add `more` to the text stored so far (and `thinking` to the thinking), set the tool
        calls so far when `tool_calls` is given, and wake whoever streams it (only them: a
        client waiting for the whole answer is woken at the end). `wake=False`: the caller
        saw nobody streaming it (a client that starts meanwhile reads the row after it
        subscribed, and hears the next store).

        Only the new text travels: the row's text is extended in the database,
        not written whole again at every flush. False when the request is no
        longer running: it was cancelled, and the worker should stop generating.
        """
        appended = {name: new for name, new in (("response", more), ("thinking", thinking)) if new}
        changes = {"tool_calls": tool_calls} if tool_calls else {}
        if not (changes or appended):  # nothing to store: only whether it still runs
            return GenerationRequest.objects.filter(pk=self.pk, status=self.Status.RUNNING).exists()
        saved = _update_if(self.pk, (self.Status.RUNNING,), changes, appended)
        self.response += more
        self.thinking += thinking
        self.tool_calls = tool_calls or self.tool_calls
        if wake:
            wakeups.notify(wakeups.text_channel(self.request_id))
        return bool(saved)

    def _end(self, status, only_from=(Status.RUNNING,), **fields):
        """Move to a final status unless the request already left `only_from`.

        The condition makes the last word safe when two processes race: a request
        cancelled while it ran stays cancelled when the worker then finishes it.
        One transaction: the row, the running totals of /metrics and, when done,
        the token's usage (added up in the database: two processes may finish at once).
        """
        fields.update(status=status, finished_at=timezone.now())
        with transaction.atomic():
            ended = _update_if(self.pk, only_from, fields)
            if ended:  # /metrics counts it now: the row itself may be pruned one day
                Counter.add_all([
                    ("llm_requests", 1, {"outcome": status, "source": self.source}),
                    ("llm_generated_tokens", fields.get("eval_count") or 0, {"model": self.model}),
                    ("llm_prompt_tokens", fields.get("prompt_eval_count") or 0, {"model": self.model}),
                ])
                if status == self.Status.DONE and self.token_id:
                    _add_usage(self.token_id, fields.get("prompt_eval_count") or 0, fields.get("eval_count") or 0)
        if not ended:  # someone else had the last word: learn which
            self.refresh_from_db()
            return False
        self.__dict__.update(fields)
        wakeups.notify(wakeups.request_channel(self.request_id))
        return True

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


def _update_if(pk, statuses, fields, appended=None):
    """UPDATE request `pk` with `fields` if its status is one of `statuses`, and add the texts of
    `appended` ({text field: more}) at the end of theirs; how many rows changed.

    The worker ends every request with it, and stores the text so far with it: the statement
    is written once for each set of fields (and the values made ready by each field, as the
    ORM would), since the ORM's building of it cost more than running it.
    """
    names, added = tuple(fields), tuple(appended or ())
    params = [GenerationRequest._meta.get_field(name).get_db_prep_save(fields[name], connection) for name in names]
    params += [appended[name] for name in added]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(names, added, len(statuses)), [*params, pk, *statuses])
        return cursor.rowcount


def _add_usage(token_id, prompt_tokens, generated_tokens):
    """Count a request done against its token, in the database (two processes may finish at once)."""
    table, count, prompt, generated, pk = map(connection.ops.quote_name, (
        ApiToken._meta.db_table, "request_count", "prompt_tokens", "generated_tokens", ApiToken._meta.pk.column))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {count} = {count} + 1, {prompt} = {prompt} + %s, {generated} = {generated} + %s "
            f"WHERE {pk} = %s",
            [prompt_tokens, generated_tokens, token_id],
        )


@lru_cache
def _update_sql(names, added, statuses):
    meta, quote = GenerationRequest._meta, connection.ops.quote_name
    columns = {name: quote(meta.get_field(name).column) for name in names + added}
    changes = ", ".join([*(f"{columns[name]} = %s" for name in names),
                         *(f"{columns[name]} = {columns[name]} || %s" for name in added)])  # text: never NULL
    return (
        f"UPDATE {quote(meta.db_table)} SET {changes} WHERE {quote(meta.pk.column)} = %s "
        f"AND {quote(meta.get_field('status').column)} IN ({', '.join(['%s'] * statuses)})"
    )


@lru_cache
def _claim_sql(vendor):
    """`GenerationQuerySet.claim`'s statement (SQLite and PostgreSQL say it alike)."""
    meta, quote = GenerationRequest._meta, connection.ops.quote_name
    column = {name: quote(meta.get_field(name).column) for name in ("id", "status", "started_at", "worker", "node",
                                                                   "attempts")}
    return (
        f"UPDATE {quote(meta.db_table)} SET {column['status']} = %s, {column['started_at']} = %s, "
        f"{column['worker']} = %s, {column['node']} = %s, {column['attempts']} = {column['attempts']} + 1 "
        f"WHERE {column['id']} = %s AND {column['status']} = %s RETURNING {rows.columns(GenerationRequest)}"
    )
