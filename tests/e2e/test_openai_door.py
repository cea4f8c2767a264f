"""The OpenAI-compatible door, driven by the official `openai` Python client."""

import json
import time

import openai
import pytest

from tests.support.doors import WEATHER

pytestmark = pytest.mark.e2e


def test_chat_completion(openai_client, standin):
    reply = openai_client.chat.completions.create(
        model="llama3.2:3b", messages=[{"role": "user", "content": "say something nice"}], max_tokens=7
    )
    assert reply.object == "chat.completion"
    assert reply.id.startswith("chatcmpl-req_")
    assert reply.model == "llama3.2:3b"
    [choice] = reply.choices
    assert choice.message.role == "assistant" and "nice" in choice.message.content
    assert choice.finish_reason == "length"
    assert reply.usage.completion_tokens == 7
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + 7


def test_streamed_chat_completion_arrives_in_pieces(openai_client, standin):
    standin.configure(token_seconds=0.05)
    stream = openai_client.chat.completions.create(
        model="llama3.2:1b",
        messages=[{"role": "user", "content": "stream a story"}],
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [(time.monotonic(), chunk) for chunk in stream]
    texts = [(at, chunk) for at, chunk in chunks if chunk.choices and chunk.choices[0].delta.content]
    assert len(texts) >= 4
    assert texts[0][1].choices[0].delta.role == "assistant"
    finishing = [chunk for _, chunk in chunks if chunk.choices and chunk.choices[0].finish_reason]
    assert finishing[-1].choices[0].finish_reason == "length"
    assert chunks[-1][1].usage.completion_tokens == 12
    assert chunks[-1][0] - texts[0][0] > 0.2, "the first piece should arrive well before the end"


def test_completion(openai_client, standin):
    reply = openai_client.completions.create(model="llama3.2:1b", prompt="Once upon a time", max_tokens=5)
    assert reply.object == "text_completion"
    assert "upon" in reply.choices[0].text
    assert reply.usage.completion_tokens == 5


def test_streamed_completion(openai_client, standin):
    pieces = [chunk.choices[0].text for chunk in openai_client.completions.create(
        model="llama3.2:1b", prompt="streamed completion", max_tokens=6, stream=True
    ) if chunk.choices]
    assert "".join(pieces).strip()


def test_models_lists_the_catalog(openai_client, standin):
    ids = [model.id for model in openai_client.models.list()]
    assert ids == ["llama3.2:3b", "phi4:mini", "qwen3:4b", "gemma3:4b", "llama3.2:1b", "qwen2.5-coder:3b"]


def test_a_wrong_key_is_refused_with_the_clients_normal_error(service, standin):
    stranger = openai.OpenAI(base_url=service.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        stranger.models.list()
    assert raised.value.status_code == 401
    assert raised.value.body["code"] == "invalid_api_key"


def test_an_unknown_model_is_a_not_found_error(openai_client, standin):
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["code"] == "model_not_found"


def test_bad_parameters_are_a_bad_request_naming_the_field(openai_client, standin):
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(
            model="llama3.2:1b", messages=[{"role": "user", "content": "hi"}], temperature=-1
        )
    assert "temperature" in raised.value.body["message"]


def test_tools_through_the_official_client_give_tool_calls_and_a_second_turn_uses_the_result(openai_client, standin):
    messages = [{"role": "user", "content": "call get_weather Paris"}]
    reply = openai_client.chat.completions.create(model="llama3.2:1b", messages=messages, tools=[WEATHER])
    [choice] = reply.choices
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather", {"city": "Paris"})

    messages += [choice.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny"}]
    second = openai_client.chat.completions.create(model="llama3.2:1b", messages=messages, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "echo: sunny"


def test_streamed_tool_calls_through_the_official_client_add_up_to_the_call(openai_client, standin):
    stream = openai_client.chat.completions.create(
        model="llama3.2:1b", messages=[{"role": "user", "content": "call get_weather Oslo"}], tools=[WEATHER], stream=True
    )
    chunks = [chunk for chunk in stream if chunk.choices]
    deltas = [call for chunk in chunks for call in chunk.choices[0].delta.tool_calls or []]
    assert [(delta.index, delta.function.name, json.loads(delta.function.arguments)) for delta in deltas] == [
        (0, "get_weather", {"city": "Oslo"})
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

