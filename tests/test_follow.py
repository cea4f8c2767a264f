"""Following a generation (llm/follow.py): a stream never joins the text of two runs.

A stream hands on what is new in the row's text since it last looked. If the
request ran again after the stream had sent text (a second run starts from
nothing), the rest of the new run would follow the start of the old one: the
stream ends with an error instead, as a failed request's stream does.
"""

import pytest

from llm.queue import follow, wakeups
from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

Status = GenerationRequest.Status


@pytest.fixture
def running():
    """A request in its first run, which has stored some text."""
    return GenerationRequest.objects.create(
        model="llama3.2:1b", prompt="hello", status=Status.RUNNING, attempts=1, worker="w:1:a", response="first run"
    )


def change(generation, **fields):
    """What a worker does to the row, with the wake-up it sends."""
    GenerationRequest.objects.filter(pk=generation.pk).update(**fields)
    wakeups.notify(wakeups.request_channel(generation.request_id))


def rest_of(events, most=5):
    """The events up to the end, without heartbeats; a stream that does not end fails the test."""
    rest = []
    for event in events:
        if event.kind != "heartbeat":
            rest.append((event.kind, event.text))
        most -= 1
        assert most or event.kind == "end", f"the stream went on: {rest}"
    return rest


def test_a_stream_ends_with_an_error_when_its_request_runs_again_after_it_sent_text(running):
    events = follow.follow(running)
    assert next(events).text == "first run"
    change(running, attempts=2, response="second")
    assert rest_of(events) == [("end", "")]
    assert running.status == Status.FAILED
    assert "broke off and was restarted" in running.error
    running.refresh_from_db()
    assert running.status == Status.FAILED, "the second run stops: nobody follows it any more"


def test_a_stream_ends_with_an_error_when_its_request_went_back_in_line_after_it_sent_text(running):
    events = follow.follow(running)
    assert next(events).text == "first run"
    change(running, status=Status.QUEUED, response="", started_at=None)
    assert rest_of(events) == [("end", "")]
    running.refresh_from_db()
    assert running.status == Status.FAILED and "restarted" in running.error


def test_a_stream_ends_with_an_error_even_when_the_second_run_finished_first(running):
    events = follow.follow(running)
    assert next(events).text == "first run"
    change(running, attempts=2, status=Status.DONE, response="second run, whole")
    assert rest_of(events) == [("end", "")]
    assert running.status == Status.FAILED and "restarted" in running.error
    running.refresh_from_db()
    assert running.status == Status.DONE, "the request itself stays done, for whoever reads it"


def test_more_text_of_the_same_run_goes_on_as_before(running):
    events = follow.follow(running)
    assert next(events).text == "first run"
    change(running, response="first run, and more")
    assert next(events).text == ", and more"
    change(running, status=Status.DONE, response="first run, and more.")
    assert rest_of(events) == [("text", "."), ("end", "")]
    assert running.status == Status.DONE


def test_a_run_that_changed_before_any_text_was_sent_streams_as_usual(running):
    GenerationRequest.objects.filter(pk=running.pk).update(response="")
    events = follow.follow(running)
    change(running, attempts=2, status=Status.DONE, response="second run")
    assert rest_of(events) == [("text", "second run"), ("end", "")]
