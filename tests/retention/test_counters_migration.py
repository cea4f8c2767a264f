"""0004_lean_data starts /metrics' running totals from the rows already there, so no counter goes back to zero."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE, AFTER = [("llm", "0003_embeddings")], [("llm", "0004_lean_data")]


@pytest.fixture
def migrated_back():
    """The database at BEFORE for the test, and at the latest migration again after it."""
    MigrationExecutor(connection).migrate(BEFORE)
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_totals_start_from_the_existing_rows(migrated_back):
    executor = MigrationExecutor(connection)
    old = executor.loader.project_state(BEFORE).apps
    Request, Pull, Audit = (old.get_model("llm", name) for name in ("GenerationRequest", "ModelPull", "AuditEntry"))
    now = timezone.now()
    for n, status in enumerate(["done", "done", "failed", "queued"]):
        Request.objects.create(request_id=f"req_{n}", model="phi4:mini", status=status, eval_count=10,
                               prompt_eval_count=3, finished_at=now if status != "queued" else None)
    Pull.objects.create(model="phi4:mini", tag="phi4:mini", status="done", completed_bytes=500, finished_at=now)
    Audit.objects.create(action="model.load", target="phi4:mini", detail={"seconds": 1.5, "swap": True})
    Audit.objects.create(action="model.load", target="phi4:mini", detail={"seconds": 0.5, "swap": False})

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    from llm.models import Counter

    assert Counter.totals("llm_requests") == {("done", "api"): 2, ("failed", "api"): 1}
    assert Counter.totals("llm_generated_tokens") == {("phi4:mini",): 20}
    assert Counter.totals("llm_prompt_tokens") == {("phi4:mini",): 6}
    assert Counter.totals("llm_pulls") == {("done",): 1}
    assert Counter.totals("llm_pull_bytes") == {("phi4:mini",): 500}
    assert Counter.totals("llm_model_loads") == {("phi4:mini",): 2}
    assert Counter.totals("llm_model_load_seconds") == {("phi4:mini",): 2.0}
    assert Counter.totals("llm_model_swaps") == {("phi4:mini",): 1}
