"""The worker's relay keeps a model's thinking and tool calls with its text: each chunk splits into
(text, thinking, tool calls), the row gets them as they stream, and the reply ends with them whole."""

import pytest

from llm.models import GenerationRequest
from llm.queue import relay

CALL = {"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}


@pytest.mark.parametrize(
    ("chunk", "chat", "pieces"),
    [
        ({"response": "The", "done": False}, False, ("The", "", [])),
        ({"response": "", "thinking": "Hmm", "done": False}, False, ("", "Hmm", [])),
        ({"message": {"role": "assistant", "content": "Hi"}, "done": False}, True, ("Hi", "", [])),
        ({"message": {"role": "assistant", "content": "", "thinking": "Hmm"}}, True, ("", "Hmm", [])),
        ({"message": {"role": "assistant", "content": "", "tool_calls": [CALL]}}, True, ("", "", [CALL])),
        ({"message": {"role": "assistant", "content": None, "tool_calls": None}}, True, ("", "", [])),
        ({"done": True, "done_reason": "stop"}, True, ("", "", [])),
    ],
)
def test_a_chunk_splits_into_text_thinking_and_tool_calls(chunk, chat, pieces):
    assert relay.split_chunk(chunk, chat) == pieces


@pytest.fixture
def running(db):
    request = GenerationRequest.objects.create(model="llama3.2:1b", kind=GenerationRequest.Kind.CHAT,
                                               messages=[{"role": "user", "content": "hi"}])
    assert request.claim("test-worker")
    return request


def test_thinking_is_appended_with_the_text_at_each_flush(running):
    assert running.save_partial("", "The question")
    assert running.save_partial("echo:", " is")
    running.refresh_from_db()
    assert (running.response, running.thinking, running.tool_calls) == ("echo:", "The question is", None)


def test_tool_calls_are_stored_when_they_come(running):
    assert running.save_partial("", "", [CALL])
    running.refresh_from_db()
    assert running.tool_calls == [CALL]


def test_a_reply_ends_with_its_whole_thinking_and_tool_calls(running):
    running.finish("", {"done": True, "done_reason": "stop", "eval_count": 3, "thinking": "Hmm", "tool_calls": [CALL]})
    running.refresh_from_db()
    assert (running.status, running.thinking, running.tool_calls, running.done_reason) == ("done", "Hmm", [CALL], "stop")


@pytest.mark.parametrize("stored", [("", "Hmm", None), ("", "", [CALL])], ids=["thinking", "tool calls"])
def test_a_run_that_stored_thinking_or_tool_calls_is_not_run_again(running, stored):
    """A streaming client may hold them already: a second run would not give the same."""
    assert running.save_partial(*stored)
    assert running.has_output
    assert not running.requeue("the worker stopped")
    assert running.status == GenerationRequest.Status.RUNNING
