"""The text limit counts what a model reads of tools: a chat's tool definitions, and the tool
calls and thinking in its history, through both doors that take tools, with a 413 in each door's shape."""

import pytest

from llm.models import GenerationRequest
from llm.rules import limits
from tests.rules.conftest import MODEL, ERROR_READERS

TOOL = {"type": "function", "function": {"name": "lookup", "description": "x" * 40}}
DOORS = [("/ollama/api/chat", "ollama"), ("/v1/chat/completions", "openai")]


def test_tool_definitions_count_as_the_json_the_model_reads(settings):
    settings.LLM_MAX_PROMPT_CHARS = 150
    limits.check_text(messages=[{"role": "user", "content": "hi"}], tools=[TOOL])
    with pytest.raises(limits.TextTooLong, match="tools"):
        limits.check_text(messages=[{"role": "user", "content": "hi"}], tools=[TOOL, TOOL])


def test_a_messages_thinking_and_tool_calls_count_with_its_content(settings):
    settings.LLM_MAX_PROMPT_CHARS = 80
    call = {"function": {"name": "lookup", "arguments": {"q": "y" * 20}}}
    limits.check_text(messages=[{"role": "assistant", "content": "", "tool_calls": [call]}])
    with pytest.raises(limits.TextTooLong, match="messages"):
        limits.check_text(messages=[{"role": "assistant", "content": "", "thinking": "z" * 20, "tool_calls": [call]}])


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "door"), DOORS)
def test_tools_over_the_limit_are_refused_with_413_in_the_doors_shape(api, settings, idle_worker, path, door):
    settings.LLM_MAX_PROMPT_CHARS = 150
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": "hi"}], "tools": [TOOL] * 2}
    response = api.post(path, body, format="json")
    assert response.status_code == 413
    assert "tools: longer than the 150 characters allowed" in ERROR_READERS[door](response)
    assert not GenerationRequest.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "door"), DOORS)
def test_tool_calls_in_the_history_count_with_the_messages(api, settings, idle_worker, path, door):
    settings.LLM_MAX_PROMPT_CHARS = 50
    arguments = {"q": "y" * 40}
    if door == "openai":
        call = {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"q": "%s"}' % ("y" * 40)}}
    else:
        call = {"function": {"name": "lookup", "arguments": arguments}}
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "", "tool_calls": [call]}]
    response = api.post(path, {"model": MODEL, "stream": True, "messages": messages}, format="json")
    assert response.status_code == 413
    assert "messages: longer than the 50 characters allowed" in ERROR_READERS[door](response)
