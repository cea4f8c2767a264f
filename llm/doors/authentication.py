import hmac
import threading
import time

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from rest_framework import authentication, exceptions

from llm.doors.permissions import HasApiToken  # noqa: F401 (its old home; llm/doors/permissions.py now)
from llm.models import ApiToken, hash_key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`X-API-Key: <token>` or `Authorization: Bearer <token>`."""

    header = "HTTP_X_API_KEY"
    keyword = "Bearer"

    def authenticate(self, request):
        raw = self._raw_key(request)
        if not raw:
            return None
        digest = hash_key(raw)
        token = verified.get(digest)
        if token is None:
            token = ApiToken.objects.authenticate(raw)
            if token is None:
                raise exceptions.AuthenticationFailed()
            verified.put(digest, token)
        token.touch()
        return (token.owner, token)

    def authenticate_header(self, request):
        # Its presence makes DRF answer 401 rather than 403.
        return f'{self.keyword} realm="api"'

    def _raw_key(self, request):
        if raw := request.META.get(self.header, "").strip():
            return raw
        scheme, _, raw = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
        if scheme.lower() == self.keyword.lower():
            return raw.strip()
        return None


class VerifiedTokens:
    """The tokens this process found by their key lately, by the key's SHA-256, for
    LLM_TOKEN_CACHE_SECONDS: a client calling again and again costs no lookup each call
    (the lookup with its owner is ~0.5-1.4 ms of the web server's CPU; docs/benchmarks.md, "Lean").

    A token saved or deleted through the models (the admin's form and its revoke action,
    `token.revoke()`, `create_token`) empties the cache of the process that saved it, so a
    revocation in the admin holds from the next call there (the one web process by default).
    Other processes (WEB_WORKERS above 1, a shell) and rows changed behind the models' back
    (`QuerySet.update()`) are seen within LLM_TOKEN_CACHE_SECONDS. Expiry needs no lookup: it
    is checked on each call against the token's `expires_at`. Wrong keys are never kept (each
    costs a lookup, as before), nor raw keys (only their hashes, as in the database).
    """

    def __init__(self, limit=10_000, clock=time.monotonic):
        self.limit, self.clock = limit, clock
        self.entries = {}  # key hash: (token, monotonic time it was read)
        self.lock = threading.Lock()

    def get(self, digest):
        entry = self.entries.get(digest)
        if entry is None:
            return None
        token, read_at = entry
        if self.clock() - read_at >= settings.LLM_TOKEN_CACHE_SECONDS or not self._still_valid(token, digest):
            self.entries.pop(digest, None)
            return None
        return token

    def put(self, digest, token):
        if settings.LLM_TOKEN_CACHE_SECONDS <= 0:
            return
        with self.lock:
            if len(self.entries) >= self.limit:
                self.entries.clear()  # a process never holds more than its tokens: this only bounds the worst case
            self.entries[digest] = (token, self.clock())

    def clear(self):
        with self.lock:
            self.entries.clear()

    @staticmethod
    def _still_valid(token, digest):
        if token.is_bootstrap:  # only the variable's present value opens it (ApiToken.objects.authenticate)
            bootstrap = settings.LLM_SERVICE_TOKEN
            if not bootstrap or not hmac.compare_digest(digest, hash_key(bootstrap)):
                return False
        return token.is_active


verified = VerifiedTokens()


@receiver(post_save, sender=ApiToken, dispatch_uid="forget-verified-tokens-on-save")
@receiver(post_delete, sender=ApiToken, dispatch_uid="forget-verified-tokens-on-delete")
def _forget_verified_tokens(**kwargs):
    verified.clear()
