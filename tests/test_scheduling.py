"""The queue policy (llm/policy.py): the plan on plain rows, then the functions the API and worker call."""

import runpy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from llm.queue import policy
from llm.models import ApiToken, GenerationRequest
from llm.queue.policy import Row, plan

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
BOUND = 60


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def waiting(pk, model, token=1):
    return Row(pk, model, token)


def started(pk, model, began, token=1, took=None):
    return Row(pk, model, token, at(began), at(began + took) if took is not None else None)


def order(queue, history=(), now=100, bound=BOUND, seconds_per_pick=0.0):
    return [row.pk for row in plan(queue, history, at(now), bound, seconds_per_pick)]


# --- The plan (arrival order is pk order) ---------------------------------------


def test_an_empty_queue_plans_nothing():
    assert order([]) == []
    assert order([], history=[started(1, "a", 1)]) == []


def test_one_model_runs_in_arrival_order():
    assert order([waiting(3, "a"), waiting(1, "a"), waiting(2, "a")]) == [1, 2, 3]


def test_requests_for_the_loaded_model_go_before_older_ones_for_another():
    queue = [waiting(2, "b"), waiting(3, "a"), waiting(4, "b"), waiting(5, "a")]
    assert order(queue, history=[started(1, "a", 1)]) == [3, 5, 2, 4]


def test_with_nothing_loaded_the_oldest_requests_model_goes_first():
    queue = [waiting(1, "b"), waiting(2, "a"), waiting(3, "b"), waiting(4, "c"), waiting(5, "a")]
    assert order(queue) == [1, 3, 2, 5, 4]


def test_the_loaded_model_is_the_one_started_last_not_the_one_that_arrived_last():
    history = [started(1, "b", 50), started(2, "a", 20)]
    assert order([waiting(3, "a"), waiting(4, "b")], history=history) == [4, 3]


def test_a_request_passed_over_for_exactly_the_bound_runs_next():
    # 2 ("b") waits; 3 ("a", stored after it) started at 40, passing it over.
    history = [started(1, "a", 1), started(3, "a", 40)]
    queue = [waiting(2, "b"), waiting(4, "a")]
    assert order(queue, history, now=40 + BOUND) == [2, 4]


def test_a_request_just_inside_the_bound_still_waits_for_the_loaded_model():
    history = [started(1, "a", 1), started(3, "a", 40)]
    queue = [waiting(2, "b"), waiting(4, "a")]
    assert order(queue, history, now=40 + BOUND - 0.001) == [4, 2]


def test_waiting_long_without_being_passed_over_does_not_count_against_the_bound():
    # Nobody stored after it has started yet: so far it is no worse off than under FIFO.
    assert order([waiting(2, "b"), waiting(3, "a")], [started(1, "a", -5)], now=1000) == [3, 2]


def test_a_request_reaches_its_bound_in_the_middle_of_the_plan():
    queue = [waiting(1, "b"), *[waiting(n, "a") for n in range(2, 12)]]
    # Each pick is taken to last 10 s: "b" is passed over at 1 (by the first "a"), so it runs once 60 s passed.
    assert order(queue, [started(0, "a", 0)], now=1, seconds_per_pick=10) == [2, 3, 4, 5, 6, 7, 1, 8, 9, 10, 11]


def test_once_past_its_bound_no_request_of_a_long_mixed_queue_is_passed_over_again():
    queue = [waiting(n, "abc"[n * 7 % 3]) for n in range(1, 301)]
    step, bound = 1.0, 20
    picks = list(plan(queue, [started(0, "a", 0)], at(0), bound, step))
    assert sorted(row.pk for row in picks) == list(range(1, 301))
    start = {row.pk: at(index * step) for index, row in enumerate(picks)}
    overtaken = 0
    for row in queue:
        overtakers = [other for other in queue if other.pk > row.pk and start[other.pk] < start[row.pk]]
        if overtakers:
            overtaken += 1
            overdue_at = min(start[other.pk] for other in overtakers) + timedelta(seconds=bound)
            assert all(start[other.pk] < overdue_at for other in overtakers), row
    assert overtaken > 100  # the rule was put to work


def test_a_bound_of_zero_lets_a_request_be_passed_over_only_once():
    queue = [waiting(2, "b"), waiting(3, "a"), waiting(4, "a")]
    assert order(queue, [started(1, "a", 1)], bound=0) == [3, 2, 4]


def test_tokens_take_turns_on_the_loaded_model():
    burst = [waiting(n, "a", token="busy") for n in range(1, 6)]
    queue = [*burst, waiting(10, "a", token="quiet"), waiting(11, "a", token="quiet")]
    assert order(queue) == [1, 10, 2, 11, 3, 4, 5]


def test_a_token_served_lately_goes_after_one_that_was_not():
    history = [started(1, "a", 50, token="busy")]
    assert order([waiting(2, "a", token="busy"), waiting(3, "a", token="other")], history) == [3, 2]


def test_many_tokens_are_served_round_robin_in_order_of_their_oldest_request():
    # Token t stores requests t, 100 + t and 200 + t.
    queue = [waiting(n * 100 + token, "a", token=token) for token in range(20) for n in range(3)]
    picks = order(queue)
    assert picks == sorted(picks)
    assert picks[:20] == list(range(20))
    assert len(picks) == len(set(picks)) == 60


def test_a_token_that_stored_a_burst_first_gets_one_turn_per_round():
    queue = [*[waiting(n, "a", token=0) for n in range(1, 41)], *[waiting(100 + t, "a", token=t) for t in range(1, 20)]]
    picks = order(queue)
    assert picks[:20] == [1, *range(101, 120)]
    assert picks[20:22] == [2, 3]


def test_requests_without_a_token_count_as_one_client():
    queue = [waiting(1, "a", token=None), waiting(2, "a", token=None), waiting(3, "a", token=7)]
    assert order(queue) == [1, 3, 2]


# --- What the worker and the API call --------------------------------------

def store(model, status=GenerationRequest.Status.QUEUED, token=None, began=None):
    fields = {"started_at": at(began)} if began is not None else {}
    return GenerationRequest.objects.create(model=model, prompt="p", status=status, token=token, **fields)


@pytest.fixture
def swap_aware(settings):
    settings.LLM_SCHEDULER = "swap-aware"
    settings.LLM_MAX_EXTRA_WAIT_SECONDS = 10**9
    return settings


@pytest.mark.django_db
def test_the_next_request_is_none_with_an_empty_queue(swap_aware):
    store("a", status=GenerationRequest.Status.DONE, began=1)
    assert policy.next_pk() is None


@pytest.mark.django_db
def test_the_next_request_prefers_the_model_of_the_request_that_started_last(swap_aware):
    store("a", status=GenerationRequest.Status.DONE, began=1)
    store("b")
    wanted = store("a")
    assert policy.next_pk() == wanted.pk


@pytest.mark.django_db
def test_the_loaded_model_is_known_when_the_last_to_start_is_older_than_all_waiting(swap_aware):
    # A batch of "a" passed over the older "b" and "c"; then "b", the oldest, was loaded and ran.
    last_to_start, oldest_waiting = store("b"), store("c")
    for n in range(3 * policy.HISTORY):
        store("a", status=GenerationRequest.Status.DONE, began=n)
    GenerationRequest.objects.filter(pk=last_to_start.pk).update(status="done", started_at=at(10_000))
    same_model = store("b")
    assert policy.next_pk() == same_model.pk
    assert policy.queue_positions() == {same_model.pk: 1, oldest_waiting.pk: 2}


@pytest.mark.django_db
def test_fifo_takes_the_oldest_whatever_is_loaded(settings):
    settings.LLM_SCHEDULER = "fifo"
    store("a", status=GenerationRequest.Status.DONE, began=1)
    oldest = store("b")
    store("a")
    assert policy.next_pk() == oldest.pk


@pytest.mark.django_db
def test_queue_positions_follow_the_order_the_worker_will_run(swap_aware):
    store("a", status=GenerationRequest.Status.DONE, began=1)
    b1, a1, b2, a2 = store("b"), store("a"), store("b"), store("a")
    assert [policy.queue_position(r) for r in (a1, a2, b1, b2)] == [1, 2, 3, 4]
    assert policy.queue_positions() == {a1.pk: 1, a2.pk: 2, b1.pk: 3, b2.pk: 4}
    assert policy.queue_length() == 4
    assert policy.next_pk() == a1.pk


@pytest.mark.django_db
def test_queue_position_under_fifo_counts_those_who_came_first(settings):
    settings.LLM_SCHEDULER = "fifo"
    store("a", status=GenerationRequest.Status.DONE, began=1)
    b1, a1 = store("b"), store("a")
    assert [policy.queue_position(a1), policy.queue_position(b1)] == [2, 1]
    assert policy.queue_positions() == {b1.pk: 1, a1.pk: 2}


@pytest.mark.django_db
def test_queue_position_is_none_once_a_request_started(swap_aware):
    running = store("a", status=GenerationRequest.Status.RUNNING, began=1)
    assert policy.queue_position(running) is None


@pytest.mark.django_db
def test_queue_position_reads_the_table_in_one_query(swap_aware, django_assert_num_queries):
    for n in range(60):
        store("abc"[n % 3], status=GenerationRequest.Status.DONE, began=n)
    last = [store("abc"[n % 3]) for n in range(30)][-1]
    with django_assert_num_queries(1):
        assert 1 <= policy.queue_position(last) <= 30


@pytest.mark.django_db
def test_tokens_take_turns_through_the_table(swap_aware):
    busy, quiet = ApiToken.issue("busy")[0], ApiToken.issue("quiet")[0]
    store("a", status=GenerationRequest.Status.DONE, began=5, token=busy)
    store("a", token=busy)
    theirs = store("a", token=quiet)
    assert policy.next_pk() == theirs.pk


@pytest.mark.django_db
def test_a_request_past_its_bound_is_next_through_the_table(settings):
    settings.LLM_SCHEDULER = "swap-aware"
    settings.LLM_MAX_EXTRA_WAIT_SECONDS = 5
    store("a", status=GenerationRequest.Status.DONE, began=1)
    overdue = store("b")
    store("a", status=GenerationRequest.Status.DONE, began=21)  # passed it over, long ago
    store("a")
    assert policy.next_pk() == overdue.pk


def test_an_unknown_scheduler_is_refused_at_start_up(monkeypatch):
    settings_file = Path(__file__).resolve().parents[1] / "llmsite" / "settings.py"
    monkeypatch.setenv("LLM_SCHEDULER", "shortest-first")
    with pytest.raises(ImproperlyConfigured, match="LLM_SCHEDULER"):
        runpy.run_path(str(settings_file))


def test_requests_stored_at_once_share_one_look_of_the_board_for_their_202s(db, idle_worker, monkeypatch):
    from llm.doors import representations
    from llm.queue import intake, positions

    stored = [intake.submit_generation(None, "llama3.2:1b", f"p{i}", {}) for i in range(3)]
    looks, unfinished = [], positions._UNFINISHED
    monkeypatch.setattr(positions, "_UNFINISHED", type("Counted", (), {
        "values": lambda self: looks.append(1) or unfinished.values()})())
    answers = [representations.generation_queued(generation) for generation in stored]
    assert [(answer["queue_position"], answer["queue_length"]) for answer in answers] == [(1, 3), (2, 3), (3, 3)]
    assert len(looks) == 1  # each 202 looked again, in turn under the board's lock, before
