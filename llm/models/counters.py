"""Running totals for /metrics, added to as things happen.

A scrape then reads a few dozen small rows instead of adding up whole tables,
and the totals outlive the rows they count: pruning old requests (llm/retention.py)
does not make a Prometheus counter go down.
"""

import json
from collections import defaultdict

from django.db import connection, models


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
        cls.add_all([(name, amount, labels)])

    @classmethod
    def add_all(cls, amounts: list[tuple[str, float, dict]]) -> None:
        """Add to several totals, [(name, amount, labels)], in one statement: an upsert (SQLite and
        PostgreSQL say it alike), so the first addition makes a row and two processes may add at once.
        A request's end adds to three totals: one statement, where an UPDATE each took three."""
        rows = defaultdict(float)
        for name, amount, labels in amounts:
            if amount:
                rows[(name, encode(labels))] += amount
        if not rows:
            return
        table, names, labels, value = map(connection.ops.quote_name, (cls._meta.db_table, "name", "labels", "value"))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({names}, {labels}, {value}) VALUES {', '.join(['(%s, %s, %s)'] * len(rows))} "
                f"ON CONFLICT ({names}, {labels}) DO UPDATE SET {value} = {table}.{value} + excluded.{value}",
                [part for (key, amount) in rows.items() for part in (*key, amount)],
            )

    @classmethod
    def totals(cls, name: str) -> dict[tuple, float]:
        """{label values in key order: total} of one metric."""
        return {
            tuple(json.loads(labels).values()): value
            for labels, value in cls.objects.filter(name=name).values_list("labels", "value")
        }


def encode(labels: dict) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))
