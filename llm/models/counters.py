"""Running totals for /metrics, added to as things happen.

A scrape then reads a few dozen small rows instead of adding up whole tables,
and the totals outlive the rows they count: pruning old requests (llm/retention.py)
does not make a Prometheus counter go down.
"""

import json

from django.db import IntegrityError, models, transaction
from django.db.models import F


class Counter(models.Model):
    """One total: a metric's name and its labels (JSON, keys sorted)."""

    name = models.CharField(max_length=80)
    labels = models.CharField(max_length=400, blank=True, default="{}")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "labels"], name="llm_counter_name_labels")]

    def __str__(self):
        return f"{self.name}{self.labels} = {self.value:g}"

    @classmethod
    def add(cls, name: str, amount: float = 1, **labels) -> None:
        """Add `amount` to a total, in the database: two processes may add at once."""
        if not amount:
            return
        key = encode(labels)
        if cls.objects.filter(name=name, labels=key).update(value=F("value") + amount):
            return
        try:
            with transaction.atomic():  # a savepoint when the caller's transaction is open
                cls.objects.create(name=name, labels=key, value=amount)
        except IntegrityError:  # another process made the row first
            cls.objects.filter(name=name, labels=key).update(value=F("value") + amount)

    @classmethod
    def totals(cls, name: str) -> dict[tuple, float]:
        """{label values in key order: total} of one metric."""
        return {
            tuple(json.loads(labels).values()): value
            for labels, value in cls.objects.filter(name=name).values_list("labels", "value")
        }


def encode(labels: dict) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))
