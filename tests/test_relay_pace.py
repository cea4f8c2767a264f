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
