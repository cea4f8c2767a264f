"""Following a generation (llm/follow.py): a stream never joins the text of two runs.

A stream hands on what is new in the row's text since it last looked. If the
request ran again after the stream had sent text (a second run starts from
nothing), the rest of the new run would follow the start of the old one: the
stream ends with an error instead, as a failed request's stream does.
"""

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

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


def stream(scenario):
    """Run `scenario()` in one event loop, as the web server follows a stream."""
    async_to_sync(scenario)()


@sync_to_async
def change(generation, **fields):
    """What a worker does to the row, with the wake-up it sends."""
    GenerationRequest.objects.filter(pk=generation.pk).update(**fields)
    wakeups.notify(wakeups.request_channel(generation.request_id))


@sync_to_async
def tell(generation, at, text, run=1):
    """What a worker does while a client streams: the news in the wake-up, the row left as it is."""
    news = json.dumps({"run": run, "at": [at, 0, 0], "text": text, "thinking": "", "tool_calls": []}).encode()
    channel = wakeups.text_channel(generation.request_id)
    wakeups.tell(wakeups.followers(channel), channel, news)


@sync_to_async
def store(generation, response):
    """The worker's store of the text so far, which wakes nobody (its followers heard it)."""
    GenerationRequest.objects.filter(pk=generation.pk).update(response=response)


async def first(events):
    return await anext(events)


async def rest_of(events, most=5):
    """The events up to the end, without heartbeats; a stream that does not end fails the test."""
    rest = []
    async for event in events:
        if event.kind != "heartbeat":
            rest.append((event.kind, event.text))
        most -= 1
        assert most or event.kind == "end", f"the stream went on: {rest}"
    return rest


def test_a_stream_ends_with_an_error_when_its_request_runs_again_after_it_sent_text(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await change(running, attempts=2, response="second")
        assert await rest_of(events) == [("end", "")]

    stream(scenario)
    assert running.status == Status.FAILED
    assert "broke off and was restarted" in running.error
    running.refresh_from_db()
    assert running.status == Status.FAILED, "the second run stops: nobody follows it any more"


def test_a_stream_ends_with_an_error_when_its_request_went_back_in_line_after_it_sent_text(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await change(running, status=Status.QUEUED, response="", started_at=None)
        assert await rest_of(events) == [("end", "")]

    stream(scenario)
    running.refresh_from_db()
    assert running.status == Status.FAILED and "restarted" in running.error


def test_a_stream_ends_with_an_error_even_when_the_second_run_finished_first(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await change(running, attempts=2, status=Status.DONE, response="second run, whole")
        assert await rest_of(events) == [("end", "")]

    stream(scenario)
    assert running.status == Status.FAILED and "restarted" in running.error
    running.refresh_from_db()
    assert running.status == Status.DONE, "the request itself stays done, for whoever reads it"


def test_more_text_of_the_same_run_goes_on_as_before(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await change(running, response="first run, and more")
        assert (await first(events)).text == ", and more"
        await change(running, status=Status.DONE, response="first run, and more.")
        assert await rest_of(events) == [("text", "."), ("end", "")]

    stream(scenario)
    assert running.status == Status.DONE


def test_a_stream_hands_on_the_news_of_its_wake_ups_without_reading_the_row(running, monkeypatch):
    reads = []
    monkeypatch.setattr(follow.rows, "refresh", lambda generation: reads.append(generation.pk))

    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await tell(running, 9, ", and more")
        assert (await first(events)).text == ", and more"
        await tell(running, 19, " and more")
        assert (await first(events)).text == " and more"
        await events.aclose()

    stream(scenario)
    assert reads == [running.pk], "the row was read once, as the stream started"


def test_a_stream_that_missed_news_reads_the_row_and_goes_on_from_it(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await store(running, "first run, and more")  # the news of ", and more" was lost
        await tell(running, 19, " and more")
        assert (await first(events)).text == ", and more and more"
        await tell(running, 28, ".")
        assert (await first(events)).text == "."
        await change(running, status=Status.DONE, response="first run, and more and more.")
        assert await rest_of(events) == [("end", "")]

    stream(scenario)
    assert running.status == Status.DONE


def test_a_stream_does_not_join_the_news_of_another_run(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await sync_to_async(GenerationRequest.objects.filter(pk=running.pk).update)(attempts=2, response="")
        await tell(running, 0, "second", run=2)
        assert await rest_of(events) == [("end", "")]

    stream(scenario)
    assert running.status == Status.FAILED and "restarted" in running.error


def test_a_run_that_changed_before_any_text_was_sent_streams_as_usual(running):
    GenerationRequest.objects.filter(pk=running.pk).update(response="")

    async def scenario():
        events = follow.follow(running)
        await change(running, attempts=2, status=Status.DONE, response="second run")
        assert await rest_of(events) == [("text", "second run"), ("end", "")]

    stream(scenario)


def test_a_stream_closed_before_its_request_ends_cancels_it(running):
    async def scenario():
        events = follow.follow(running)
        assert (await first(events)).text == "first run"
        await events.aclose()

    stream(scenario)
    running.refresh_from_db()
    assert running.status == Status.CANCELLED


def test_a_wait_ends_when_its_request_does(running):
    async def scenario():
        waited = asyncio.ensure_future(follow.wait(running, timeout=60))
        await change(running, status=Status.DONE, response="all of it")
        return await waited

    assert async_to_sync(scenario)().status == Status.DONE


def test_a_wait_past_its_time_leaves_its_request_alone(running):
    assert async_to_sync(follow.wait)(running, timeout=0.05).status == Status.RUNNING
    running.refresh_from_db()
    assert running.status == Status.RUNNING


def test_a_wait_ends_without_a_wake_up_when_its_request_ended_and_the_queue_emptied(running):
    """As when it ended on another host and no wake-up reached this one: the board sees it gone."""
    async def scenario():
        waited = asyncio.ensure_future(follow.wait(running, timeout=30))
        await asyncio.sleep(0)  # its first look at the row, before the end
        await sync_to_async(GenerationRequest.objects.filter(pk=running.pk).update)(status=Status.DONE)
        return await waited

    assert async_to_sync(scenario)().status == Status.DONE


@pytest.fixture
def queued():
    """Two requests waiting their turn: `queued[1]` is second in line."""
    return [GenerationRequest.objects.create(model="llama3.2:1b", prompt=prompt) for prompt in ("first", "second")]


async def within(events, seconds=30):
    """The next event; a stream that says nothing for `seconds` fails the test."""
    return await asyncio.wait_for(anext(events), seconds)


def test_a_queued_stream_gets_a_line_when_its_place_changes_and_none_while_it_stays(queued, monkeypatch):
    monkeypatch.setattr(follow, "LOOK_SECONDS", 0.01)
    monkeypatch.setattr(follow, "HEARTBEAT_SECONDS", 3600)  # no heartbeat comes between the two lines

    async def scenario():
        events = follow.follow(queued[1])
        try:
            place = await within(events)
            while place.position != 2:  # the shared board may not have seen both yet: its next look does
                place = await within(events)
            assert (place.kind, place.length) == ("queued", 2)
            await change(queued[0], status=Status.CANCELLED)
            place = await within(events)
            assert (place.kind, place.position, place.length) == ("queued", 1, 1), "the same place is not sent again"
        finally:
            await events.aclose()

    stream(scenario)


def test_a_queued_stream_whose_place_stays_sends_a_heartbeat_every_heartbeat_seconds(queued, monkeypatch):
    monkeypatch.setattr(follow, "LOOK_SECONDS", 0.01)
    monkeypatch.setattr(follow, "HEARTBEAT_SECONDS", 0.2)

    async def scenario():
        events = follow.follow(queued[1])
        try:
            assert (await within(events)).kind == "queued"
            for _ in range(2):
                quiet_since = time.monotonic()
                assert (await within(events)).kind == "heartbeat"
                assert time.monotonic() - quiet_since >= follow.HEARTBEAT_SECONDS, "not before its time"
        finally:
            await events.aclose()

    stream(scenario)


def test_a_queued_stream_closed_by_its_client_cancels_its_request(queued):
    async def scenario():
        events = follow.follow(queued[1])
        assert (await within(events)).kind == "queued"
        await events.aclose()

    stream(scenario)
    queued[1].refresh_from_db()
    assert queued[1].status == Status.CANCELLED
