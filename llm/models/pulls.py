"""Model downloads, with their progress in bytes."""

from django.db import models, transaction
from django.utils import timezone

from llm.models.counters import Counter
from llm.models.generations import WorkStatus
from llm.models.tokens import ApiToken


class PullQuerySet(models.QuerySet):
    def waiting(self):
        return self.filter(status=ModelPull.Status.QUEUED)

    def unfinished(self):
        return self.filter(status__in=(ModelPull.Status.QUEUED, ModelPull.Status.RUNNING))


class ModelPull(models.Model):
    Status = WorkStatus

    model = models.CharField(max_length=200, help_text="The catalog name.")
    tag = models.CharField(max_length=200, help_text="What Ollama is asked to pull.")
    node = models.CharField(max_length=40, blank=True, help_text="The node (LLM_NODES) it downloads to.")
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
        with transaction.atomic():
            ended = ModelPull.objects.filter(pk=self.pk, status__in=(self.Status.QUEUED, self.Status.RUNNING)).update(
                status=status, finished_at=timezone.now(), **fields
            )
            self.refresh_from_db()
            if ended:  # /metrics counts it now: the row itself may be pruned one day
                Counter.add("llm_pulls", status=status)
                Counter.add("llm_pull_bytes", self.completed_bytes, model=self.model)
        return bool(ended)
