"""The Ollama door hands on a model's thinking (`think`) and its tool calls (`tools`) as Ollama does,
streamed and not, and refuses a tool or a tool call of the wrong shape with a 400 {"error"}."""

import json

import pytest
from asgiref.sync import async_to_sync

from llm.models import GenerationRequest
from tests.support.doors import WEATHER

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "llama3.2:1b"


@pytest.fixture
def ollama_api(api, standin, inline_worker):
    standin.configure(token_seconds=0, load_seconds=0.01)
    return api


def generate(client, **fields):
    return client.post("/ollama/api/generate", {"model": MODEL, "prompt": "why is the sky blue", **fields},
                       format="json")


def chat(client, content="why is the sky blue", **fields):
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}], **fields}
    return client.post("/ollama/api/chat", body, format="json")


def lines(response):
    """A streamed answer's lines (the worker ran inline: the request is done before the stream is read)."""
    assert response.status_code == 200

    async def read():
        return b"".join([chunk async for chunk in response.streaming_content])

    return [json.loads(line) for line in async_to_sync(read)().splitlines()]


def test_an_unstreamed_generate_with_think_answers_with_the_models_thinking(ollama_api):
    body = generate(ollama_api, think=True, stream=False).json()
    assert body["thinking"] == "The question is: why is the sky blue"
    assert body["response"] == "echo: why is the sky blue"
    assert GenerationRequest.objects.get().thinking == body["thinking"]


def test_a_streamed_generate_with_think_streams_the_thinking_before_the_answer(ollama_api):
    chunks = lines(generate(ollama_api, think=True))
    assert "".join(chunk.get("thinking", "") for chunk in chunks) == "The question is: why is the sky blue"
    assert "".join(chunk["response"] for chunk in chunks) == "echo: why is the sky blue"
    assert chunks[-1]["done"] is True and "thinking" not in chunks[-1]


def test_without_think_there_is_no_thinking_field(ollama_api):
    body = generate(ollama_api, stream=False).json()
    assert "thinking" not in body
    assert "thinking" not in chat(ollama_api, stream=False).json()["message"]


def test_an_unstreamed_chat_with_think_has_the_thinking_in_its_message(ollama_api):
    message = chat(ollama_api, think="low", stream=False).json()["message"]
    assert message == {"role": "assistant", "content": "echo: why is the sky blue",
                       "thinking": "The question is: why is the sky blue"}


def test_a_streamed_chat_with_think_streams_message_thinking(ollama_api):
    chunks = lines(chat(ollama_api, think=True))
    assert "".join(chunk["message"].get("thinking", "") for chunk in chunks) == "The question is: why is the sky blue"
    assert "".join(chunk["message"]["content"] for chunk in chunks) == "echo: why is the sky blue"


def test_a_chat_that_calls_a_tool_answers_with_its_tool_calls_and_arguments_as_an_object(ollama_api):
    body = chat(ollama_api, "call get_weather Paris", tools=[WEATHER], stream=False).json()
    assert body["message"] == {
        "role": "assistant", "content": "",
        "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
    }
    assert body["done"] is True and body["done_reason"] == "stop"
    stored = GenerationRequest.objects.get()
    assert stored.extra == {"tools": [WEATHER]}
    assert stored.tool_calls == body["message"]["tool_calls"]


def test_a_streamed_chat_that_calls_a_tool_streams_the_call_then_the_last_line(ollama_api):
    chunks = lines(chat(ollama_api, "call get_weather Paris", tools=[WEATHER]))
    calls = [call for chunk in chunks for call in chunk["message"].get("tool_calls", [])]
    assert calls == [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]
    assert chunks[-1]["done"] is True and chunks[-1]["done_reason"] == "stop"


def test_a_tools_result_in_the_history_reaches_the_model(ollama_api):
    messages = [
        {"role": "user", "content": "call get_weather Paris"},
        {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
        {"role": "tool", "content": "sunny and warm", "tool_name": "get_weather"},
    ]
    response = ollama_api.post("/ollama/api/chat", {"model": MODEL, "messages": messages, "tools": [WEATHER],
                                                    "stream": False}, format="json")
    assert response.json()["message"]["content"] == "echo: sunny and warm"
    assert GenerationRequest.objects.get().messages == messages


@pytest.mark.parametrize(
    ("tools", "name"),
    [
        ([5], "tools"),
        ([{"type": 1, "function": {"name": "f"}}], "tools[0].type"),
        ([{"type": "function"}], "tools[0].function.name"),
        ([{"type": "function", "function": "f"}], "tools[0].function"),
        ([{"type": "function", "function": {"name": ""}}], "tools[0].function.name"),
        ([{"type": "function", "function": {"name": "f", "parameters": "{}"}}], "tools[0].function.parameters"),
        ([{"type": "function", "function": {"name": "f", "description": 3}}], "tools[0].function.description"),
    ],
)
def test_a_tool_of_the_wrong_shape_is_a_400(api, idle_worker, tools, name):
    response = chat(api, tools=tools, stream=False)
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and name in response.json()["error"]
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ("get_weather", "messages[1].tool_calls"),
        ({"function": {"arguments": {}}}, "messages[1].tool_calls[0].function.name"),
        ({"function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
         "messages[1].tool_calls[0].function.arguments"),
    ],
)
def test_a_tool_call_of_the_wrong_shape_in_the_history_is_a_400(api, idle_worker, call, name):
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "", "tool_calls": [call]}]
    response = api.post("/ollama/api/chat", {"model": MODEL, "messages": messages, "stream": False}, format="json")
    assert response.status_code == 400
    assert name in response.json()["error"]
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize("think", ["yes", 1, "extreme"])
def test_a_think_ollama_cannot_read_is_a_400(api, idle_worker, think):
    response = generate(api, think=think, stream=False)
    assert response.status_code == 400 and "think" in response.json()["error"]


def test_a_finished_requests_thinking_and_tool_calls_are_shown_by_the_native_api(ollama_api):
    chat(ollama_api, "call get_weather Paris", tools=[WEATHER], think=True, stream=False)
    request_id = GenerationRequest.objects.get().request_id
    body = ollama_api.get(f"/api/v1/llm/requests/{request_id}").json()
    assert body["thinking"] == "The question is: call get_weather Paris"
    assert body["tool_calls"] == [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]


def test_the_native_api_adds_no_field_when_the_model_neither_thought_nor_called_a_tool(ollama_api):
    response = ollama_api.post("/api/v1/llm/generate", {"model": MODEL, "prompt": "hi", "wait": True}, format="json")
    assert set(response.json()) == {"success", "request_id", "response", "model", "done", "queue_length"}
    body = ollama_api.get(f"/api/v1/llm/requests/{response.json()['request_id']}").json()
    assert "thinking" not in body and "tool_calls" not in body
