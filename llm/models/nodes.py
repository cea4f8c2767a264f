"""The Ollama servers of the fleet: what each holds, whether it answers, whether it is in service."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class Node(models.Model):
    """One Ollama server with room for one model. Its rows follow LLM_NODES (llm/engine/nodes.py).

    `resident` is what the engine's last holder left in memory there (it holds the node's
    lease to change it), so the engine need not ask Ollama's /api/ps before every request.
    """

    name = models.CharField(max_length=40, unique=True)
    url = models.CharField(max_length=300, help_text="Shown without credentials.")
    in_service = models.BooleanField(
        default=True, help_text="Out of service: it finishes what it runs and takes nothing new."
    )
    reachable = models.BooleanField(default=True)
    error = models.TextField(blank=True, help_text="Why it was last marked down.")
    failures = models.PositiveIntegerField(default=0, help_text="Failed checks in a row.")
    recheck_at = models.DateTimeField(null=True, blank=True, help_text="When a down node is asked again.")
    resident = models.CharField(max_length=200, blank=True, help_text="The Ollama tag in memory, as last seen.")
    resident_seen_at = models.DateTimeField(null=True, blank=True)
    installed = models.JSONField(null=True, blank=True, help_text="Installed Ollama tags, as last seen.")
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="When it last started a request.")
    load_seconds = models.FloatField(null=True, blank=True, help_text="What its last load took, in seconds.")

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.name

    @property
    def live(self):
        """Takes new work: in service and answering."""
        return self.in_service and self.reachable

    def resident_known(self):
        """True while what we saw resident is recent enough to trust (LLM_RESIDENT_CHECK_SECONDS)."""
        seen = self.resident_seen_at
        return seen is not None and timezone.now() - seen < timedelta(seconds=settings.LLM_RESIDENT_CHECK_SECONDS)

    def saw_resident(self, tag):
        self.resident, self.resident_seen_at = tag or "", timezone.now()
        Node.objects.filter(pk=self.pk).update(resident=self.resident, resident_seen_at=self.resident_seen_at)

    def loaded(self, tag, seconds):
        """It loaded `tag`, which took `seconds`."""
        self.saw_resident(tag)
        self.load_seconds = seconds
        Node.objects.filter(pk=self.pk).update(load_seconds=seconds)

    def forget_resident(self):
        """Ask Ollama next time (after an error: what it holds is no longer sure)."""
        self.resident_seen_at = None
        Node.objects.filter(pk=self.pk).update(resident_seen_at=None)

    def saw_installed(self, tags):
        tags = sorted(tags)
        if tags != self.installed:
            self.installed = tags
            Node.objects.filter(pk=self.pk).update(installed=tags)

    def forget_installed(self, tag):
        """`tag` was deleted from this node's disk."""
        if self.installed and tag in self.installed:
            self.saw_installed([installed for installed in self.installed if installed != tag])

    def mark_used(self):
        self.last_used_at = timezone.now()
        Node.objects.filter(pk=self.pk).update(last_used_at=self.last_used_at)

    def mark_up(self):
        if not self.reachable or self.failures:
            Node.objects.filter(pk=self.pk).update(reachable=True, failures=0, error="", recheck_at=None)
        self.reachable, self.failures, self.error, self.recheck_at = True, 0, "", None

    def mark_down(self, reason):
        """Not answering: take nothing new; ask again after a pause that doubles up to
        LLM_NODE_RECHECK_MAX_SECONDS."""
        self.failures += 1
        pause = min(2 ** (self.failures - 1), settings.LLM_NODE_RECHECK_MAX_SECONDS)
        self.reachable, self.error = False, str(reason)
        self.recheck_at = timezone.now() + timedelta(seconds=pause)
        self.resident_seen_at = None
        Node.objects.filter(pk=self.pk).update(
            reachable=False, error=self.error, failures=self.failures, recheck_at=self.recheck_at, resident_seen_at=None
        )

    def recheck_due(self):
        return not self.reachable and (self.recheck_at is None or self.recheck_at <= timezone.now())
