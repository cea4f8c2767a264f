"""How often the worker reads Ollama's stream (llm/queue/runner.py, `read_pause`): each read
wakes it, and on a CPU-only box a wake-up per token is time taken from the model; reading
less often makes the end of a reply known later, so a short reply is read as it comes."""

import pytest

from llm.queue.runner import READ_PAUSED_AFTER_SECONDS, READ_SHARE, UNFOLLOWED_READ_SECONDS, read_pause


@pytest.mark.parametrize("followed", [True, False])
def test_a_short_reply_is_read_as_it_comes(followed):
    assert read_pause(READ_PAUSED_AFTER_SECONDS / 2, followed) == 0


def test_a_streamed_reply_is_read_no_more_often_than_its_text_goes_out(settings):
    settings.LLM_STREAM_FLUSH_SECONDS = 0.05
    assert read_pause(60, followed=True) == 0.05


def test_a_reply_nobody_streams_is_read_every_tenth_of_a_second_once_it_ran_a_while():
    assert read_pause(60, followed=False) == UNFOLLOWED_READ_SECONDS == 0.1


@pytest.mark.parametrize("elapsed", [READ_PAUSED_AFTER_SECONDS, 0.4, 0.8])
def test_the_end_of_a_reply_is_never_known_later_than_a_share_of_its_time(elapsed, settings):
    settings.LLM_STREAM_FLUSH_SECONDS = 1
    for followed in (True, False):
        assert read_pause(elapsed, followed) <= elapsed * READ_SHARE


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


@pytest.mark.django_db
def test_a_client_that_starts_streaming_just_after_the_reply_started_gets_its_first_words_at_once(
    monkeypatch, settings, alice_token, idle_worker
):
    """The web wakes the worker when it stores the request and subscribes just after: the
    worker may have started the reply without anyone listening, and must not then keep the
    text for a second (the unfollowed pace)."""
    from llm.queue import intake, runner, wakeups

    settings.LLM_STREAM_FLUSH_SECONDS = 0.05
    clock = Clock()
    monkeypatch.setattr(runner, "time", clock)
    monkeypatch.setattr(runner.nodes, "ollama", lambda node: FakeOllama(clock))
    looks = iter([False, False])  # nobody at the start, nor at the first look: then the client came
    monkeypatch.setattr(wakeups, "listening", lambda channel: next(looks, True))
    stores = []
    save_partial = runner.GenerationRequest.save_partial

    def recorded(self, more, *args, **kwargs):
        stores.append((clock.now, more, kwargs.get("wake", True)))
        return save_partial(self, more, *args, **kwargs)

    monkeypatch.setattr(runner.GenerationRequest, "save_partial", recorded)
    request = intake.submit_generation(alice_token[0], "llama3.2:1b", "hi")
    request.claim("test-worker")
    started = clock.now
    text, final = runner._generate("llama3.2:1b", request, "default")

    assert final["done"] and text.count("w") == 30
    first_at, first_text, woke = stores[0]
    assert first_at - started < runner.UNFOLLOWED_FLUSH_SECONDS / 2 and woke
    assert first_text.startswith("w0 ")
