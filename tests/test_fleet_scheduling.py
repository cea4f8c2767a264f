"""Fleet scheduling (llm/queue/fleet.py) on plain rows: which free node takes which request."""

from datetime import datetime, timedelta, timezone

from llm.queue.fleet import NodeView, assign, order
from llm.queue.policy import Row

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
BOUND = 60


def at(seconds):
    return T0 + timedelta(seconds=seconds)


def node(name, loaded=None, busy=False, live=True, installed=None, used=None):
    return NodeView(name, loaded, busy, live, frozenset(installed) if installed is not None else None,
                    at(used) if used is not None else None)


def waiting(pk, model, token=1):
    return Row(pk, model, token)


def started(pk, model, began, node_name="a", token=1):
    return Row(pk, model, token, at(began), None, node_name)


def picks(nodes, queue, history=(), now=100, seconds_per_request=0.0):
    chosen = assign(nodes, queue, list(history), at(now), BOUND, seconds_per_request)
    return {name: row.pk for name, row in chosen.items()}


def test_it_gives_each_node_a_request_for_the_model_it_holds():
    queue = [waiting(1, "x"), waiting(2, "y"), waiting(3, "x"), waiting(4, "y")]
    assert picks([node("a", "y"), node("b", "x")], queue) == {"a": 2, "b": 1}


def test_a_model_held_by_a_busy_node_waits_for_that_node():
    queue = [waiting(1, "x"), waiting(2, "x")]
    assert picks([node("a", "x", busy=True), node("b", "y")], queue) == {}


def test_an_idle_node_shares_a_line_that_would_keep_its_node_busy_longer_than_two_loads():
    queue = [waiting(pk, "x") for pk in range(1, 21)]  # 20 s of work behind a, where a load on b takes 2 s
    views = [node("a", "x", busy=True), node("b", "y")._replace(load_seconds=2.0)]
    assert picks(views, queue, seconds_per_request=1.0) == {"b": 1}


def test_an_idle_node_does_not_load_a_copy_for_a_short_line():
    queue = [waiting(1, "x"), waiting(2, "x"), waiting(3, "x")]
    views = [node("a", "x", busy=True), node("b", "y")._replace(load_seconds=2.0)]
    assert picks(views, queue, seconds_per_request=1.0) == {}


def test_an_overdue_request_goes_to_any_free_node():
    queue = [waiting(1, "x"), waiting(3, "x")]
    history = [started(2, "x", 10)]  # a younger one started at 10 s: 1 has been passed over since
    assert picks([node("a", "x", busy=True), node("b", "y")], queue, history, now=10 + BOUND) == {"b": 1}


def test_a_cold_model_goes_to_an_empty_node_before_one_holding_a_model():
    queue = [waiting(1, "z")]
    assert picks([node("a", "y", used=5), node("b", None, used=50)], queue) == {"b": 1}


def test_a_cold_model_goes_to_the_node_used_least_recently():
    queue = [waiting(1, "z")]
    assert picks([node("a", "y", used=50), node("b", "w", used=5)], queue) == {"b": 1}


def test_two_cold_models_go_to_two_free_nodes():
    queue = [waiting(1, "z"), waiting(2, "w"), waiting(3, "z")]
    assert picks([node("a"), node("b")], queue) == {"a": 1, "b": 2}


def test_a_request_runs_only_on_a_node_that_has_its_model():
    queue = [waiting(1, "z")]
    nodes = [node("a", installed={"x"}, used=1), node("b", installed={"z"}, used=50)]
    assert picks(nodes, queue) == {"b": 1}


def test_a_model_no_node_has_goes_anywhere_to_fail_there():
    nodes = [node("a", installed={"x"}), node("b", installed={"y"}, busy=True)]
    assert picks(nodes, [waiting(1, "q")]) == {"a": 1}


def test_a_node_down_or_out_of_service_takes_nothing_and_holds_nothing():
    queue = [waiting(1, "x")]
    assert picks([node("a", "x", live=False), node("b", "y")], queue) == {"b": 1}


def test_fairness_between_tokens_holds_across_nodes():
    # Token 1 was served last (on node b); token 2 waits for the model a holds: it goes first there.
    queue = [waiting(2, "x", token=1), waiting(3, "x", token=2)]
    history = [started(1, "x", 50, node_name="b", token=1)]
    assert picks([node("a", "x"), node("b", "y", busy=True)], queue, history) == {"a": 3}


def test_the_order_runs_models_side_by_side_with_few_loads():
    queue = [waiting(pk, model) for pk, model in enumerate("xyzxyzxyz", start=1)]
    views = [node("a"), node("b"), node("c")]
    planned = list(order(views, queue, [], at(0), BOUND, seconds_per_pick=1.0))
    assert [row.pk for row in planned] == [1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_the_order_puts_a_model_behind_its_node():
    queue = [waiting(1, "x"), waiting(2, "x"), waiting(3, "y")]
    views = [node("a", "x"), node("b")]
    assert [row.pk for row in order(views, queue, [], at(0), BOUND, 1.0)] == [1, 3, 2]


def test_the_order_with_no_live_node_keeps_arrival_order():
    queue = [waiting(2, "y"), waiting(1, "x")]
    assert [row.pk for row in order([node("a", live=False)], queue, [], at(0), BOUND, 1.0)] == [1, 2]
