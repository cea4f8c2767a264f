"""How often the worker reads Ollama's stream and passes it on (llm/queue/relay.py): each read
wakes it, and on a CPU-only box a wake-up per token is time taken from the model; reading
less often makes the end of a reply known later, so a short reply is read as it comes. Its
followers hear the text every LLM_STREAM_FLUSH_SECONDS in the wake-up, the row gets it every
STORE_SECONDS."""

import json
from types import SimpleNamespace

import pytest

from llm.models import GenerationRequest
from llm.queue.relay import READ_PAUSED_AFTER_SECONDS, READ_SHARE, STORE_SECONDS, UNFOLLOWED_READ_SECONDS, read_pause


def test_a_short_reply_nobody_streams_is_read_as_it_comes():
    assert read_pause(READ_PAUSED_AFTER_SECONDS / 2, followed=False) == 0


@pytest.mark.parametrize("elapsed", [0.01, READ_PAUSED_AFTER_SECONDS, 60])
def test_a_streamed_reply_is_read_as_often_as_its_text_goes_out(settings, elapsed):
    settings.LLM_STREAM_FLUSH_SECONDS = 0.1
    assert read_pause(elapsed, followed=True) == 0.1


def test_a_reply_nobody_streams_is_read_every_quarter_of_a_second_once_it_ran_a_while():
    assert read_pause(60, followed=False) == UNFOLLOWED_READ_SECONDS == 0.25


@pytest.mark.parametrize("elapsed", [READ_PAUSED_AFTER_SECONDS, 0.4, 0.8])
def test_the_end_of_a_reply_nobody_streams_is_never_known_later_than_a_share_of_its_time(elapsed):
    assert read_pause(elapsed, followed=False) <= elapsed * READ_SHARE


class FakeOllama:
    """A reply of one-token batches, each `spacing` seconds of `clock` after the one before."""

    def __init__(self, clock, tokens=30, spacing=0.06):
        self.clock, self.tokens, self.spacing = clock, tokens, spacing

    def generate(self, payload):
        for n in range(self.tokens):
            self.clock.now += self.spacing
            yield [{"response": f"w{n} ", "done": False}]
        yield [{"response": "", "done": True, "done_reason": "stop", "eval_count": self.tokens}]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class Relayed:
    """A reply relayed by the worker on a fake clock: the news it told and the stores it made,
    each as (time, text, more)."""

    def __init__(self, monkeypatch, token, followers, tokens=30):
        from llm.queue import intake, relay, wakeups

        self.clock, self.news, self.stores = Clock(), [], []
        monkeypatch.setattr(relay, "time", self.clock)
        monkeypatch.setattr(relay.nodes, "ollama", lambda node: FakeOllama(self.clock, tokens))
        monkeypatch.setattr(wakeups, "followers", lambda channel: ["hub"] if next(followers, True) else [])
        save_partial = relay.GenerationRequest.save_partial

        def told(hubs, channel, news):
            assert hubs == ["hub"]
            self.news.append((self.clock.now, json.loads(news)))

        def stored(request, more, *args, **kwargs):
            self.stores.append((self.clock.now, more, kwargs))
            return save_partial(request, more, *args, **kwargs)

        monkeypatch.setattr(wakeups, "tell", told)
        monkeypatch.setattr(relay.GenerationRequest, "save_partial", stored)
        self.request = intake.submit_generation(token, "llama3.2:1b", "hi")
        self.request.claim("test-worker")
        self.started = self.clock.now
        self.text, self.final = relay.generate("llama3.2:1b", self.request, "default", {})


@pytest.mark.django_db
def test_a_client_that_starts_streaming_just_after_the_reply_started_gets_its_first_words_at_once(
    monkeypatch, settings, alice_token, idle_worker
):
    """The web wakes the worker when it stores the request and subscribes just after: the
    worker may have started the reply without anyone listening, and must not then keep the
    text for a second (the unfollowed pace)."""
    settings.LLM_STREAM_FLUSH_SECONDS = 0.05
    # nobody at the start, nor at the first look: then the client came
    relayed = Relayed(monkeypatch, alice_token[0], followers=iter([False, False]))

    assert relayed.final["done"] and relayed.text.count("w") == 30
    first_at, first = relayed.news[0]
    assert first_at - relayed.started < STORE_SECONDS / 2
    assert first["at"] == [0, 0, 0] and first["text"].startswith("w0 ")


@pytest.mark.django_db
def test_a_streamed_reply_goes_to_its_followers_in_news_and_to_the_row_once_a_second(
    monkeypatch, settings, alice_token, idle_worker
):
    settings.LLM_STREAM_FLUSH_SECONDS = 0.05
    relayed = Relayed(monkeypatch, alice_token[0], followers=iter([]), tokens=60)  # 3.6 s, followed throughout

    told, at = "", 0
    for _, news in relayed.news:  # each starts where the one before ended, in the first run
        assert news["at"] == [at, 0, 0] and news["run"] == 1
        told += news["text"]
        at += len(news["text"])
    assert relayed.text.startswith(told) and len(told) > len(relayed.text) * 0.9
    assert len(relayed.news) >= 30, "the text goes out as it is read"
    first_store, *stores = relayed.stores
    assert first_store[:2] == (relayed.news[0][0], relayed.news[0][1]["text"]), \
        "its first words are stored as they first go out: after a crash it is not run again"
    relayed.started, relayed.stores = first_store[0], stores
    assert_stored_once_a_second(relayed)
    assert not any(kwargs.get("wake") for _, _, kwargs in relayed.stores), "its followers heard it already"
    relayed.request.refresh_from_db()
    assert relayed.text.startswith(relayed.request.response) and relayed.request.response


@pytest.mark.django_db
def test_a_reply_nobody_streams_tells_nobody_and_is_stored_once_a_second(monkeypatch, settings, alice_token, idle_worker):
    relayed = Relayed(monkeypatch, alice_token[0], followers=iter([False] * 1000), tokens=60)

    assert relayed.news == []
    assert_stored_once_a_second(relayed)


def assert_stored_once_a_second(relayed):
    """No store of `relayed` came sooner than STORE_SECONDS after the one before (or the start), nor much later."""
    times = [relayed.started] + [at for at, _, _ in relayed.stores]
    assert all(2 * STORE_SECONDS > later - earlier >= STORE_SECONDS for earlier, later in zip(times, times[1:]))
    assert relayed.clock.now - times[-1] < 2 * STORE_SECONDS


class CancelledAfter(FakeOllama):
    """The reply's client cancels it after `after` tokens (through another copy of the row, as the web does)."""

    def __init__(self, clock, request, after):
        super().__init__(clock, tokens=200)
        self.request, self.after, self.sent = request, after, 0

    def generate(self, payload):
        for batch in super().generate(payload):
            self.sent += 1
            if self.sent == self.after:
                GenerationRequest.objects.get(pk=self.request.pk).cancel("Cancelled by the client")
            yield batch


@pytest.mark.django_db
@pytest.mark.parametrize("followers", [[], ["hub"]], ids=["waited", "streamed"])
def test_a_cancel_stops_the_relay_at_its_next_read_not_its_next_store(
    monkeypatch, settings, alice_token, idle_worker, followers
):
    from llm.queue import intake, relay, wakeups

    settings.LLM_STREAM_FLUSH_SECONDS = 0.1
    clock = Clock()
    monkeypatch.setattr(relay, "time", clock)
    monkeypatch.setattr(wakeups, "followers", lambda channel: followers)
    monkeypatch.setattr(wakeups, "tell", lambda hubs, channel, news: None)
    request = intake.submit_generation(alice_token[0], "llama3.2:1b", "hi")
    request.claim("test-worker")
    ollama = CancelledAfter(clock, request, after=30)
    monkeypatch.setattr(relay.nodes, "ollama", lambda node: ollama)

    with pytest.raises(relay.Cancelled):
        relay.generate("llama3.2:1b", request, "default", {})
    assert ollama.sent == 30, "it read no more once the cancel came"


@pytest.mark.django_db
def test_each_store_wakes_the_streams_on_other_hosts_which_the_worker_cannot_see(
    monkeypatch, settings, alice_token, idle_worker
):
    """Across hosts (LLM_WAKEUPS=postgres) a stream through another box's web server has no marker
    here: it reads the row when woken, so every store wakes the other boxes."""
    from llm.queue import wakeups

    sent = []
    other_hosts = SimpleNamespace(send=sent.append, relay=lambda deliver: None)  # as llm/queue/pgwakeups.py
    monkeypatch.setattr(wakeups, "across_hosts", lambda: other_hosts)
    relayed = Relayed(monkeypatch, alice_token[0], followers=iter([False] * 1000), tokens=60)

    text_channel = wakeups.text_channel(relayed.request.request_id)
    assert relayed.stores and sent.count(text_channel) == len(relayed.stores)
