"""The audit log: who did what to the service, and when.

    audit.record(audit.Action.SWITCH, "phi4:mini", token=request.auth)
    audit.record(audit.Action.TOKEN_REVOKE, token_row, user=request.user)

Entries are rows (`AuditEntry`), so they survive restarts and every process
writes to the same log. Never put a key, a prompt or a password in `detail`.
"""

from django.db import models

from llm.models import ApiToken, AuditEntry


class Action(models.TextChoices):
    SWITCH = "switch"
    PULL = "pull"
    PULL_ALL = "pull-all"
    PULL_CANCEL = "pull.cancel"
    DELETE = "delete"
    UNLOAD = "unload"
    QUEUE_PROCESS = "queue.process"
    QUEUE_CLEAR = "queue.clear"
    NODE_SERVICE = "node.service"  # a node taken out of service, or back
    TOKEN_CREATE = "token.create"
    TOKEN_CHANGE = "token.change"
    TOKEN_REVOKE = "token.revoke"
    TOKEN_DELETE = "token.delete"
    # Not an operator's action but the system's: a model loaded into memory
    # (llm/engine/residency.py). Kept here so that swaps survive restarts and count
    # across processes; llm/metrics.py reads them.
    MODEL_LOAD = "model.load"


def record(action, target="", token=None, user=None, **detail):
    """Add an entry. `token` is the ApiToken that acted (an API call), `user` the person (admin, dashboard)."""
    if not isinstance(token, ApiToken):
        token = None
    if user is not None and not user.is_authenticated:
        user = None
    return AuditEntry.objects.create(
        action=action, target=str(target)[:200], token=token, user=user, detail=detail
    )
