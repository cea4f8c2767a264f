import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from llm import notify

# --- API tokens ----------------------------------------------------------------


def hash_key(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def authenticate(self, raw):
        """The active token whose key is `raw`, or None.

        Keys are looked up by their SHA-256 (the database never holds a raw key),
        then compared in constant time. LLM_SERVICE_TOKEN is checked the same way
        and stands for a row of its own so that its use is attributed and it can
        be revoked in the admin like any other.
        """
        digest = hash_key(raw)
        bootstrap = settings.LLM_SERVICE_TOKEN
        if bootstrap and hmac.compare_digest(digest, hash_key(bootstrap)):
            token = self._bootstrap_row(digest)
        else:
            token = self.filter(key_hash=digest, is_bootstrap=False).first()
        if token is None or not hmac.compare_digest(token.key_hash, digest):
            return None
        return token if token.is_active else None

    def _bootstrap_row(self, digest):
        token, created = self.get_or_create(
            is_bootstrap=True,
            defaults={
                "name": "LLM_SERVICE_TOKEN",
                "key_hash": digest,
                "prefix": "(environment)",
                "role": ApiToken.Role.ADMIN,
            },
        )
        if not created and token.key_hash != digest:
            # The variable was changed: the old value must stop working, which it
            # does because only the variable is compared, never the stored hash.
            token.key_hash = digest
            token.save(update_fields=["key_hash"])
        return token


class ApiToken(models.Model):
    KEY_PREFIX = "llm_"

    class Role(models.TextChoices):
        GENERATE = "generate", "generate: generate, read status and its own requests"
        ADMIN = "admin", "admin: also pull, switch, unload and work the queue"

    name = models.CharField(max_length=100)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.GENERATE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="api_tokens"
    )
    prefix = models.CharField(max_length=16, editable=False, help_text="The first characters of the key.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_bootstrap = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    # Usage, added up as generations finish.
    request_count = models.PositiveBigIntegerField(default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    generated_tokens = models.PositiveBigIntegerField(default=0)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name, owner=None):
        """A new token and its raw key, which is shown once and never stored."""
        token = cls(name=name, owner=owner)
        raw = token.set_new_key()
        token.save()
        return token, raw

    def set_new_key(self):
        raw = self.KEY_PREFIX + secrets.token_urlsafe(32)
        self.prefix, self.key_hash = raw[:12], hash_key(raw)
        return raw

    @property
    def is_active(self):
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    @property
    def is_admin(self):
        return self.role == self.Role.ADMIN

    def revoke(self):
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])

    def touch(self):
        # At most one write a minute per token: this runs on every API call.
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


# --- Generations ---------------------------------------------------------------


def new_request_id():
    return f"req_{secrets.token_hex(8)}"


class GenerationQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(status=GenerationRequest.Status.QUEUED)

    def running(self):
        return self.filter(status=GenerationRequest.Status.RUNNING)

    def unfinished(self):
        return self.filter(status__in=GenerationRequest.UNFINISHED)


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
    options = models.JSONField(default=dict, blank=True, help_text="Ollama options, max_tokens already mapped.")
    extra = models.JSONField(
        default=dict, blank=True, help_text="Other Ollama request fields passed through (system, format, ...)."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    response = models.TextField(blank=True)
    error = models.TextField(blank=True)
    done_reason = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True, help_text="Who ran it last (host:pid:...).")
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
        indexes = [models.Index(fields=["status", "created_at"])]
        ordering = ["-created_at"]

    def __str__(self):
        return self.request_id

    @property
    def is_finished(self):
        return self.status not in self.UNFINISHED

    def requeue(self, reason):
        """Put a request whose run was cut short back in line (it keeps its place)."""
        requeued = GenerationRequest.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
            status=self.Status.QUEUED, started_at=None, response="", error=reason
        )
        self.refresh_from_db()
        return bool(requeued)

    def claim(self, worker):
        """Take this request if it is still waiting. False: someone else has it."""
        now = timezone.now()
        taken = GenerationRequest.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started_at=now, worker=worker, attempts=F("attempts") + 1
        )
        if taken:
            self.refresh_from_db()
        return bool(taken)

    def finish(self, response, final_chunk):
        counters = {name: final_chunk.get(name) for name in self.OLLAMA_COUNTERS}
        ended = self._end(
            self.Status.DONE, response=response, done_reason=final_chunk.get("done_reason") or "", **counters
        )
        if ended and self.token_id:
            # The token's usage, added up in the database: two processes may finish at once.
            ApiToken.objects.filter(pk=self.token_id).update(
                request_count=F("request_count") + 1,
                prompt_tokens=F("prompt_tokens") + (self.prompt_eval_count or 0),
                generated_tokens=F("generated_tokens") + (self.eval_count or 0),
            )

    def fail(self, reason):
        self._end(self.Status.FAILED, error=str(reason))

    def cancel(self, reason="Cancelled"):
        """Cancel a waiting or running request; a running one stops at its next checkpoint."""
        return self._end(self.Status.CANCELLED, error=reason, only_from=self.UNFINISHED)

    def save_partial(self, text):
        """Store the text generated so far and wake whoever streams it.

        False when the request is no longer running: it was cancelled, and the
        worker should stop generating.
        """
        saved = GenerationRequest.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(response=text)
        self.response = text
        notify.notify(notify.request_channel(self.request_id))
        return bool(saved)

    def _end(self, status, only_from=(Status.RUNNING,), **fields):
        """Move to a final status unless the request already left `only_from`.

        The condition makes the last word safe when two processes race: a request
        cancelled while it ran stays cancelled when the worker then finishes it.
        """
        fields.update(status=status, finished_at=timezone.now())
        ended = GenerationRequest.objects.filter(pk=self.pk, status__in=only_from).update(**fields)
        self.refresh_from_db()
        if ended:
            notify.notify(notify.request_channel(self.request_id))
        return bool(ended)

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


# --- Pulls ----------------------------------------------------------------------


class PullQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(status=ModelPull.Status.QUEUED)

    def unfinished(self):
        return self.filter(status__in=(ModelPull.Status.QUEUED, ModelPull.Status.RUNNING))


class ModelPull(models.Model):
    Status = WorkStatus

    model = models.CharField(max_length=200, help_text="The catalog name.")
    tag = models.CharField(max_length=200, help_text="What Ollama is asked to pull.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    detail = models.CharField(max_length=300, blank=True, help_text="Ollama's last status line.")
    layers = models.JSONField(default=dict, blank=True, help_text="{digest: [completed, total]}")
    completed_bytes = models.BigIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PullQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"pull {self.model} ({self.status})"

    @property
    def is_finished(self):
        return self.status not in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def percent(self):
        if self.status == self.Status.DONE:
            return 100.0
        return round(100.0 * self.completed_bytes / self.total_bytes, 1) if self.total_bytes else 0.0

    def claim(self):
        taken = ModelPull.objects.filter(pk=self.pk, status=self.Status.QUEUED).update(
            status=self.Status.RUNNING, started_at=timezone.now()
        )
        if taken:
            self.refresh_from_db()
        return bool(taken)

    def record(self, line):
        """Fold one of Ollama's progress lines into the totals (not saved)."""
        self.detail = (line.get("status") or "")[:300]
        if digest := line.get("digest"):
            self.layers[digest] = [line.get("completed") or 0, line.get("total") or 0]
            self.completed_bytes = sum(done for done, _ in self.layers.values())
            self.total_bytes = sum(total for _, total in self.layers.values())

    def save_progress(self):
        """Store the totals; False when the pull is no longer running (it was cancelled)."""
        return ModelPull.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(
            detail=self.detail,
            layers=self.layers,
            completed_bytes=self.completed_bytes,
            total_bytes=self.total_bytes,
        )

    def finish(self):
        self._end(
            self.Status.DONE,
            detail="success",
            layers=self.layers,
            completed_bytes=self.total_bytes,
            total_bytes=self.total_bytes,
        )

    def fail(self, reason):
        self._end(self.Status.FAILED, error=str(reason))

    def cancel(self):
        """Stop a pull: a queued one never starts, a running one stops at its next progress line."""
        return self._end(self.Status.CANCELLED, error="Cancelled")

    def _end(self, status, **fields):
        ended = ModelPull.objects.filter(pk=self.pk, status__in=(self.Status.QUEUED, self.Status.RUNNING)).update(
            status=status, finished_at=timezone.now(), **fields
        )
        self.refresh_from_db()
        return bool(ended)


# --- Leases ---------------------------------------------------------------------


class Lease(models.Model):
    """A named lock in the database that expires unless its holder renews it.

    It holds across processes on SQLite and PostgreSQL alike, and a holder that
    dies (SIGKILL, OOM killer) cannot keep it: it runs out on its own.
    """

    ENGINE = "engine"  # loading a model and generating with it
    PULLS = "pulls"  # downloading models

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name}: {self.holder or 'free'}"

    @classmethod
    def try_acquire(cls, name, holder, seconds):
        now = timezone.now()
        free = Q(holder="") | Q(expires_at__lt=now) | Q(holder=holder)
        taken = cls.objects.filter(free, name=name).update(holder=holder, expires_at=now + timedelta(seconds=seconds))
        if not taken and not cls.objects.filter(name=name).exists():
            # First use on this database: make the row, then race for it like anyone.
            try:
                with transaction.atomic():
                    cls.objects.create(name=name)
            except IntegrityError:
                pass
            return cls.try_acquire(name, holder, seconds)
        return bool(taken)

    @classmethod
    def renew(cls, name, holder, seconds):
        expires = timezone.now() + timedelta(seconds=seconds)
        return bool(cls.objects.filter(name=name, holder=holder).update(expires_at=expires))

    @classmethod
    def take_over(cls, name, old_holder, holder, seconds):
        expires = timezone.now() + timedelta(seconds=seconds)
        return bool(cls.objects.filter(name=name, holder=old_holder).update(holder=holder, expires_at=expires))

    @classmethod
    def release(cls, name, holder):
        cls.objects.filter(name=name, holder=holder).update(holder="", expires_at=None)

    @classmethod
    def current_holder(cls, name):
        lease = cls.objects.filter(name=name, expires_at__gte=timezone.now()).exclude(holder="").first()
        return lease.holder if lease else None


# --- Audit ----------------------------------------------------------------------


class AuditEntry(models.Model):
    """Who did what to the service: switches, pulls, unloads, queue clears, token changes."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    token = models.ForeignKey(ApiToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=200, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target}"
