"""manage.py prune [--dry-run]."""

from io import StringIO

import pytest
from django.core.management import call_command

from llm.models import AuditEntry, GenerationRequest, ModelPull
from tests.retention.conftest import audit_aged, pull_aged, request_aged

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_rows(retention_days):
    request_aged(100, "done")
    request_aged(10, "done")
    request_aged(100, "queued")
    audit_aged(400)
    pull_aged(40, "done")


def prune(*args):
    out = StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_says_what_would_go_and_removes_nothing(old_rows):
    out = prune("--dry-run")
    assert "1 finished requests would be deleted (older than " in out
    assert "1 finished requests' text would be removed" in out
    assert "1 audit entries would be deleted" in out
    assert "1 finished pulls would be deleted" in out
    assert (GenerationRequest.objects.count(), AuditEntry.objects.count(), ModelPull.objects.count()) == (3, 1, 1)
    assert GenerationRequest.objects.get(request_id="req_done_10d").prompt == "the prompt"


def test_without_dry_run_it_prunes_and_says_what_went(old_rows):
    out = prune()
    assert "1 finished requests were deleted" in out and "1 audit entries were deleted" in out
    assert sorted(GenerationRequest.objects.values_list("request_id", flat=True)) == ["req_done_10d", "req_queued_100d"]
    assert GenerationRequest.objects.get(request_id="req_done_10d").prompt == ""
    assert not AuditEntry.objects.exists() and not ModelPull.objects.exists()
