"""The audit log."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from llm.models.tokens import ApiToken


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
        # The dashboard's last model load, however many other entries came since.
        indexes = [models.Index(fields=["action", "created_at"], name="llm_audit_action_created")]
        verbose_name_plural = "audit entries"

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.target}"
