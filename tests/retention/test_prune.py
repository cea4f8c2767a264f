"""Pruning keeps what the retention settings say and nothing else; unfinished work is never touched."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from llm import retention
from llm.models import AuditEntry, GenerationRequest, ModelPull
from tests.retention.conftest import COUNTERS, TEXT, audit_aged, pull_aged, request_aged

pytestmark = pytest.mark.django_db

FINISHED = ("done", "failed", "cancelled")
AGES = (1, 10, 100, 1000)  # days: within every setting, past the text's, past the request's, past all


@pytest.fixture
def seeded(retention_days):
    for days in AGES:
        for status in ("queued", "running", *FINISHED):
            request_aged(days, status)
        audit_aged(days)
        audit_aged(days, action="model.load")
        for status in ("queued", "running", *FINISHED):
            pull_aged(days, status)


def text_of(request):
    return {field: getattr(request, field) for field in TEXT}


def test_it_deletes_finished_requests_past_their_days_and_only_those(seeded):
    retention.prune()
    kept = set(GenerationRequest.objects.values_list("request_id", flat=True))
    expected = {f"req_{status}_{days}d" for days in AGES for status in ("queued", "running")}
    expected |= {f"req_{status}_{days}d" for days in (1, 10) for status in FINISHED}
    assert kept == expected


def test_it_removes_the_text_of_finished_requests_sooner_and_keeps_their_counters(seeded):
    retention.prune()
    for status in FINISHED:
        pruned = GenerationRequest.objects.get(request_id=f"req_{status}_10d")
        assert text_of(pruned) == {"prompt": "", "messages": None, "response": "", "extra": {}}
        assert pruned.model == "llama3.2:1b" and pruned.finished_at is not None
    done = GenerationRequest.objects.get(request_id="req_done_10d")
    assert {name: getattr(done, name) for name in COUNTERS} == COUNTERS
    assert GenerationRequest.objects.get(request_id="req_failed_10d").error == "it broke"
    for status in FINISHED:
        assert text_of(GenerationRequest.objects.get(request_id=f"req_{status}_1d")) == TEXT


def test_it_never_touches_queued_or_running_requests_however_old(seeded):
    retention.prune()
    for days in AGES:
        for status in ("queued", "running"):
            request = GenerationRequest.objects.get(request_id=f"req_{status}_{days}d")
            assert (request.status, text_of(request)) == (status, TEXT)


def test_it_deletes_audit_entries_past_their_days(seeded):
    retention.prune()
    kept = sorted(AuditEntry.objects.values_list("action", "target"))
    assert kept == sorted((action, f"{days}d") for days in (1, 10, 100) for action in ("switch", "model.load"))


def test_it_deletes_finished_pulls_past_their_days_but_never_unfinished_ones(seeded):
    retention.prune()
    kept = set(ModelPull.objects.values_list("model", flat=True))
    expected = {f"{status}-{days}d" for days in AGES for status in ("queued", "running")}
    expected |= {f"{status}-{days}d" for days in (1, 10) for status in FINISHED}
    assert kept == expected


def test_it_says_how_many_rows_of_each_kind_it_pruned(seeded):
    assert retention.prune() == {
        "finished requests deleted": 6,
        "finished requests' text removed": 3,
        "audit entries deleted": 2,
        "finished pulls deleted": 6,
    }


def test_a_second_prune_finds_nothing_left_to_do(seeded):
    retention.prune()
    assert set(retention.prune().values()) == {0}


def test_a_dry_run_counts_what_a_prune_would_do_and_changes_nothing(seeded):
    before = GenerationRequest.objects.count(), AuditEntry.objects.count(), ModelPull.objects.count()
    assert retention.prune(dry_run=True) == retention.prune(dry_run=True)
    counted = retention.prune(dry_run=True)
    assert (GenerationRequest.objects.count(), AuditEntry.objects.count(), ModelPull.objects.count()) == before
    assert retention.prune() == counted


def test_the_settings_decide_how_long_rows_stay(seeded, settings):
    settings.LLM_KEEP_REQUESTS_DAYS = 2000
    settings.LLM_KEEP_REQUEST_TEXT_DAYS = 0.5
    retention.prune()
    assert GenerationRequest.objects.count() == len(AGES) * 5
    assert all(text_of(r) == TEXT for r in GenerationRequest.objects.filter(status__in=("queued", "running")))
    finished = GenerationRequest.objects.filter(status__in=FINISHED)
    assert {r.prompt for r in finished} == {""}


def test_it_prunes_in_batches_of_any_size(seeded, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 2)
    assert retention.prune()["finished requests deleted"] == 6
    assert GenerationRequest.objects.count() == len(AGES) * 5 - 6


def test_metrics_totals_do_not_go_down_when_rows_are_pruned(client, api, idle_worker, retention_days):
    for _ in range(3):
        api.post("/api/v1/llm/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}, format="json")
    for request in GenerationRequest.objects.all():
        request.cancel()
    GenerationRequest.objects.update(finished_at=request_aged(1000, "done").finished_at)
    before = scrape(client)
    assert retention.prune()["finished requests deleted"] == 4
    assert scrape(client) == before
    assert before["llm_requests_total", "cancelled", "api"] == 3


def scrape(client):
    text = client.get("/metrics", REMOTE_ADDR="127.0.0.1").content.decode()
    return {
        (sample.name, *sample.labels.values()): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_schedule_is_set_once_and_follows_the_setting(settings):
    from django_q.models import Schedule

    settings.LLM_PRUNE_MINUTES = 15
    retention.ensure_schedule()
    retention.ensure_schedule()
    [schedule] = Schedule.objects.filter(func="llm.queue.tasks.prune")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 15, -1)
    settings.LLM_PRUNE_MINUTES = 0
    retention.ensure_schedule()
    assert not Schedule.objects.filter(func="llm.queue.tasks.prune").exists()
