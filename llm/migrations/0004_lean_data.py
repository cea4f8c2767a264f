"""Lean data: /metrics' running totals (Counter), and the indexes the dashboard and the prune need.

The totals start from what the tables hold now, so the counters carry on from
where the old /metrics (which added up whole tables) left them.
"""

import json

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, Sum

FINISHED = ("done", "failed", "cancelled")


def encode(labels):
    """As llm.models.counters.encode: the labels' JSON, keys sorted."""
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def fill_counters(apps, schema_editor):
    Counter = apps.get_model("llm", "Counter")
    Request = apps.get_model("llm", "GenerationRequest")
    Pull = apps.get_model("llm", "ModelPull")
    Audit = apps.get_model("llm", "AuditEntry")
    totals = {}

    def add(name, amount, **labels):
        if amount:
            key = (name, encode(labels))
            totals[key] = totals.get(key, 0) + amount

    for row in Request.objects.filter(status__in=FINISHED).values("status", "source").annotate(n=Count("pk")).order_by():
        add("llm_requests", row["n"], outcome=row["status"], source=row["source"])
    done = Request.objects.filter(status="done").values("model").order_by()
    for row in done.annotate(generated=Sum("eval_count"), prompt=Sum("prompt_eval_count")):
        add("llm_generated_tokens", row["generated"] or 0, model=row["model"])
        add("llm_prompt_tokens", row["prompt"] or 0, model=row["model"])
    for row in Pull.objects.filter(status__in=FINISHED).values("status", "model", "completed_bytes"):
        add("llm_pulls", 1, status=row["status"])
        add("llm_pull_bytes", row["completed_bytes"], model=row["model"])
    for target, detail in Audit.objects.filter(action="model.load").values_list("target", "detail").iterator():
        detail = detail if isinstance(detail, dict) else json.loads(detail or "{}")
        add("llm_model_loads", 1, model=target)
        add("llm_model_load_seconds", float(detail.get("seconds") or 0), model=target)
        add("llm_model_swaps", 1 if detail.get("swap") else 0, model=target)
    Counter.objects.bulk_create(
        Counter(name=name, labels=labels, value=value) for (name, labels), value in totals.items()
    )


class Migration(migrations.Migration):

    dependencies = [
        ('llm', '0003_embeddings'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Counter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=80)),
                ('labels', models.CharField(blank=True, default='{}', max_length=400)),
                ('value', models.FloatField(default=0)),
            ],
        ),
        migrations.AddIndex(
            model_name='auditentry',
            index=models.Index(fields=['action', 'created_at'], name='llm_audit_action_created'),
        ),
        migrations.AddIndex(
            model_name='generationrequest',
            index=models.Index(fields=['status', 'id'], name='llm_request_status_id'),
        ),
        migrations.AddIndex(
            model_name='generationrequest',
            index=models.Index(fields=['finished_at'], name='llm_request_finished_at'),
        ),
        migrations.AddIndex(
            model_name='generationrequest',
            index=models.Index(condition=models.Q(models.Q(('prompt', ''), _negated=True), models.Q(('response', ''), _negated=True), ('messages__isnull', False), models.Q(('extra', {}), _negated=True), _connector='OR'), fields=['finished_at'], name='llm_request_with_text'),
        ),
        migrations.AddConstraint(
            model_name='counter',
            constraint=models.UniqueConstraint(fields=('name', 'labels'), name='llm_counter_name_labels'),
        ),
        migrations.RunPython(fill_counters, migrations.RunPython.noop),
    ]
