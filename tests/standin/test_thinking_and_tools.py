"""The stand-in thinks when asked (`think`) and calls a tool the last user message names, as Ollama
answers: deterministic, so tests through the gateway can tell what came through."""

from __future__ import annotations

import json

import pytest

from llm.standin.reasoning import tool_call

WEATHER = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object",
    "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]},
                   "metric": {"type": "boolean"}, "words": {"type": "array"}, "where": {"type": "object"}},
}}}


def post(standin, http, path, **body):
    return http.post(standin.url + path, json={"model": "llama3.2:1b", **body})


def lines(response):
    return [json.loads(line) for line in response.iter_lines() if line]


def user(content):
    return [{"role": "user", "content": content}]


def test_a_tool_named_in_the_last_user_message_is_called_with_arguments_from_the_words_after_it():
    assert tool_call([WEATHER], user("please call get_weather Paris 3, thanks")) == {"function": {
        "name": "get_weather",
        "arguments": {"city": "Paris 3 thanks", "days": 3, "unit": "c", "metric": True,
                      "words": ["Paris", "3", "thanks"], "where": {}},
    }}


@pytest.mark.parametrize("messages", [
    user("what is the weather"),
    [*user("call get_weather"), {"role": "assistant", "content": "ok"}],
    [*user("call get_weather"), {"role": "tool", "content": "sunny", "tool_name": "get_weather"}],
])
def test_no_tool_is_called_unless_the_last_message_is_the_users_and_names_one(messages):
    assert tool_call([WEATHER], messages) is None


def test_with_think_a_generation_streams_thinking_before_its_answer(standin, http):
    chunks = lines(post(standin, http, "/api/generate", prompt="why blue", think=True))
    thinking = [index for index, chunk in enumerate(chunks) if chunk.get("thinking")]
    answer = [index for index, chunk in enumerate(chunks) if chunk["response"]]
    assert "".join(chunks[index]["thinking"] for index in thinking) == "The question is: why blue"
    assert max(thinking) < min(answer)
    assert chunks[-1]["eval_count"] == len(thinking) + len(answer)


def test_with_think_an_unstreamed_chat_has_message_thinking(standin, http):
    body = post(standin, http, "/api/chat", messages=user("why blue"), think="high", stream=False).json()
    assert body["message"] == {"role": "assistant", "content": "echo: why blue", "thinking": "The question is: why blue"}


def test_without_think_nothing_is_thought(standin, http):
    body = post(standin, http, "/api/generate", prompt="why blue", think=False, stream=False).json()
    assert "thinking" not in body


def test_a_streamed_chat_with_tools_streams_one_tool_call_chunk_then_done(standin, http):
    chunks = lines(post(standin, http, "/api/chat", messages=user("use get_weather Oslo"), tools=[WEATHER]))
    assert [chunk["message"].get("tool_calls") for chunk in chunks[:-1]] == [
        [{"function": {"name": "get_weather", "arguments": {
            "city": "Oslo", "days": 0, "unit": "c", "metric": True, "words": ["Oslo"], "where": {}}}}]
    ]
    assert chunks[-1]["done"] is True and chunks[-1]["done_reason"] == "stop"
    assert chunks[-1]["message"] == {"role": "assistant", "content": ""}


def test_an_unstreamed_tool_call_is_in_the_answers_message(standin, http):
    body = post(standin, http, "/api/chat", messages=user("get_weather"), tools=[WEATHER], stream=False).json()
    assert body["message"]["content"] == ""
    assert body["message"]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert body["done_reason"] == "stop" and body["eval_count"] == 1


def test_a_tool_result_is_echoed_as_the_answer(standin, http):
    messages = [*user("call get_weather"), {"role": "assistant", "content": "", "tool_calls": []},
                {"role": "tool", "content": "sunny", "tool_name": "get_weather"}]
    body = post(standin, http, "/api/chat", messages=messages, tools=[WEATHER], stream=False).json()
    assert body["message"] == {"role": "assistant", "content": "echo: sunny"}
