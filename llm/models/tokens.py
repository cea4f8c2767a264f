"""API tokens: stored as hashes, with a role, an expiry and usage."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import timezone


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
            # With its owner (DRF's request.user): one statement per call, not two.
            token = self.select_related("owner").filter(key_hash=digest, is_bootstrap=False).first()
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
    # Calls refused with 429 by a rate limit (llm/rules/limits.py), ever.
    rate_limited_count = models.PositiveBigIntegerField(default=0, editable=False)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "API token"

    def __str__(self):
        if self.is_bootstrap:
            return f"{self.name} (environment)"  # its prefix is "(environment)": no key to show
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

    def count_refusal(self):
        """One call refused by a rate limit, added up in the database (threads refuse at once)."""
        ApiToken.objects.filter(pk=self.pk).update(rate_limited_count=F("rate_limited_count") + 1)

    def touch(self):
        # At most one write a minute per token: this runs on every API call.
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
