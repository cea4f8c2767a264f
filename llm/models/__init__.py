"""The app's models, one module per concern; import them from here."""

from llm.models.audit import AuditEntry
from llm.models.counters import Counter
from llm.models.generations import GenerationQuerySet, GenerationRequest, WorkStatus, new_request_id
from llm.models.leases import Lease
from llm.models.nodes import Node
from llm.models.pulls import ModelPull, PullQuerySet
from llm.models.tokens import ApiToken, ApiTokenQuerySet, hash_key

__all__ = [
    "ApiToken",
    "ApiTokenQuerySet",
    "AuditEntry",
    "Counter",
    "GenerationQuerySet",
    "GenerationRequest",
    "Lease",
    "ModelPull",
    "Node",
    "PullQuerySet",
    "WorkStatus",
    "hash_key",
    "new_request_id",
]
