"""The history charts' figures against a seeded history with known answers (tests/support/history.py)."""

from datetime import timedelta

import pytest

from llm.dashboard import history
from tests.support.history import LLAMA, NOW, PHI, at, finished_request, load, seed_hour

pytestmark = pytest.mark.django_db

NONE_BEFORE = [None] * 10  # buckets 0-9 of the hour: nothing finished there


def zeros_then(*last):
    return [0] * (12 - len(last)) + list(last)


def test_the_hour_is_twelve_five_minute_buckets_aligned_on_the_clock():
    win = history.window("hour", NOW)
    assert (win.start, win.end, win.count) == (at("11:05:00"), at("12:05:00"), 12)
    assert win.bucket_of(at("11:55:30")) == 10


def test_the_day_and_the_week_have_buckets_of_an_hour_and_six_hours():
    day, week = history.window("day", NOW), history.window("week", NOW)
    assert (day.start, day.step, day.count) == (at("12:00:00") - timedelta(hours=23), timedelta(hours=1), 24)
    assert (week.step, week.count, week.end) == (timedelta(hours=6), 28, at("18:00:00"))


def test_requests_per_model_count_what_finished_in_each_bucket():
    seed_hour()
    by_model = history.requests_by_model(history.window("hour", NOW))
    assert list(by_model) == [LLAMA, PHI]
    assert by_model[LLAMA]["requests"] == zeros_then(2, 2)
    assert by_model[PHI]["requests"] == zeros_then(2, 1)


def test_failures_and_cancels_are_counted_per_model_and_bucket():
    seed_hour()
    by_model = history.requests_by_model(history.window("hour", NOW))
    assert by_model[LLAMA]["failed"] == zeros_then(1, 0)
    assert by_model[LLAMA]["cancelled"] == zeros_then(0, 0)
    assert by_model[PHI]["failed"] == zeros_then(0, 0)
    assert by_model[PHI]["cancelled"] == zeros_then(1, 1)


def test_tokens_per_second_is_tokens_generated_over_seconds_generating_of_the_done_requests():
    seed_hour()
    by_model = history.requests_by_model(history.window("hour", NOW))
    assert by_model[LLAMA]["tokens_per_second"] == NONE_BEFORE + [25.0, 45.0]
    assert by_model[PHI]["tokens_per_second"] == NONE_BEFORE + [25.0, None]


def test_waits_are_the_nearest_rank_p50_and_p95_of_each_bucket():
    seed_hour()
    waits = history.waits(history.window("hour", NOW))
    assert waits["p50"] == NONE_BEFORE + [311.0, 21.0]
    assert waits["p95"] == NONE_BEFORE + [360.0, 75.0]


def test_p50_and_p95_of_twenty_waits_are_the_tenth_and_nineteenth():
    for seconds in range(20, 0, -1):
        finished_request(LLAMA, "11:00:00", at("11:00:00") + timedelta(seconds=seconds), "11:30:00")
    waits = history.waits(history.window("hour", NOW))
    bucket = history.window("hour", NOW).bucket_of(at("11:30:00"))
    assert (waits["p50"][bucket], waits["p95"][bucket]) == (10.0, 19.0)


def test_waits_are_counted_to_a_tenth_of_a_second():
    for milliseconds in (1240, 1260, 1260):
        finished_request(LLAMA, "11:00:00", at("11:00:00") + timedelta(milliseconds=milliseconds), "11:30:00")
    waits = history.waits(history.window("hour", NOW))
    assert (waits["p50"][5], waits["p95"][5]) == (1.3, 1.3)
    finished_request(LLAMA, "11:00:00", at("11:00:00") + timedelta(milliseconds=1240), "11:30:00")
    waits = history.waits(history.window("hour", NOW))
    assert (waits["p50"][5], waits["p95"][5]) == (1.2, 1.3)


def test_loads_are_read_from_the_audit_log_per_bucket():
    seed_hour()
    loads = history.loads(history.window("hour", NOW))
    assert loads["actual"] == zeros_then(1, 2)


def test_fcfs_replays_the_arrivals_that_ran_from_the_model_loaded_when_the_window_began():
    seed_hour()
    loads = history.loads(history.window("hour", NOW))
    # r1 llama (loaded), r2 phi: load, r3 llama: load; r5 llama, r7 phi: load, r6 llama: load.
    assert loads["fcfs"] == [0] * 9 + [2, 0, 2]
    assert loads["saved"] == 1


def test_with_nothing_loaded_before_the_window_fcfs_counts_the_first_arrival_as_a_load():
    finished_request(LLAMA, "12:00:00", "12:00:01", "12:00:02")
    finished_request(LLAMA, "12:00:03", "12:00:04", "12:00:05")
    load(LLAMA, "12:00:00")
    loads = history.loads(history.window("hour", NOW))
    assert (loads["fcfs"], loads["actual"], loads["saved"]) == (zeros_then(1), zeros_then(1), 0)


def test_an_empty_history_has_zeros_and_no_waits():
    figures = history.history("week", NOW)
    assert figures["by_model"] == {}
    assert figures["waits"] == {"p50": [None] * 28, "p95": [None] * 28}
    assert figures["loads"] == {"actual": [0] * 28, "fcfs": [0] * 28, "saved": 0}


def test_the_day_and_the_week_also_hold_what_finished_before_the_hour():
    seed_hour()
    for name in ("day", "week"):
        by_model = history.requests_by_model(history.window(name, NOW))
        assert sum(by_model[LLAMA]["requests"]) == 5 and sum(by_model[PHI]["requests"]) == 3


def test_the_whole_history_is_the_figures_of_its_buckets():
    seed_hour()
    figures = history.history("hour", NOW)
    win = history.window("hour", NOW)
    assert figures["by_model"] == history.requests_by_model(win)
    assert figures["waits"] == history.waits(win)
    assert figures["loads"] == history.loads(win)


def test_settled_buckets_are_read_once_and_the_open_one_every_time():
    seed_hour()
    history.history("hour", NOW)
    # A request that is in the settled 11:55 bucket now would be a change of the past: not read again.
    finished_request(LLAMA, "11:56:00", "11:56:01", "11:57:00")
    finished_request(LLAMA, "12:01:40", "12:01:41", "12:01:50")
    figures = history.history("hour", NOW)
    assert figures["by_model"][LLAMA]["requests"] == zeros_then(2, 3)


def test_a_bucket_with_a_request_still_waiting_is_read_again():
    seed_hour()
    waiting = finished_request(PHI, "11:51:00", None, None, status="queued")
    assert history.history("hour", NOW)["loads"]["fcfs"] == [0] * 9 + [2, 0, 2]
    waiting.started_at, waiting.finished_at, waiting.status = at("12:01:50"), at("12:01:55"), "done"
    waiting.save()
    # r1 llama, r2 phi: load, r3 llama: load, the late phi: load; then llama: load, phi: load, llama: load
    assert history.history("hour", NOW)["loads"]["fcfs"] == [0] * 9 + [3, 0, 3]
