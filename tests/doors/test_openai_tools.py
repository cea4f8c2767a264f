"""The OpenAI door's function tools: mapped to Ollama's `tools` (request, history, answer, stream),
and what Ollama cannot do honestly (force a call, hold arguments to a schema) refused with a 400."""

import json

import pytest
from asgiref.sync import async_to_sync
from rest_framework.exceptions import ValidationError

from llm.doors.openai_fields import chat_request
from llm.models import GenerationRequest

CHAT = "/v1/chat/completions"
MODEL = "llama3.2:1b"
PARAMETERS = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "The weather", "parameters": PARAMETERS}}
ASKED = {"role": "user", "content": "call get_weather Paris"}
CALLED = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
]}
ANSWERED = {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


def mapped(**fields):
    return chat_request({"model": MODEL, "messages": [ASKED], **fields})


def refusal(**fields):
    with pytest.raises(ValidationError) as raised:
        mapped(**fields)
    return raised.value.detail


# --- the mapping, field by field ---------------------------------------------------------------


def test_function_tools_become_ollamas_tools():
    assert mapped(tools=[WEATHER]).extra == {"tools": [WEATHER]}


def test_tool_choice_auto_gives_the_model_the_tools():
    assert mapped(tools=[WEATHER], tool_choice="auto").extra == {"tools": [WEATHER]}


def test_tool_choice_none_does_not_tell_the_model_of_the_tools():
    assert mapped(tools=[WEATHER], tool_choice="none").extra == {}


def test_a_strict_false_and_a_missing_description_are_fine():
    tool = {"type": "function", "function": {"name": "now", "strict": False}}
    assert mapped(tools=[tool]).extra == {"tools": [{"type": "function", "function": {"name": "now"}}]}


def test_an_assistants_tool_calls_reach_ollama_with_arguments_as_an_object():
    messages = chat_request({"model": MODEL, "messages": [ASKED, CALLED, ANSWERED]}).content["messages"]
    assert messages[1] == {"role": "assistant", "content": "",
                           "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}


def test_a_tool_message_names_the_tool_whose_call_it_answers():
    messages = chat_request({"model": MODEL, "messages": [ASKED, CALLED, ANSWERED]}).content["messages"]
    assert messages[2] == {"role": "tool", "content": "sunny", "tool_name": "get_weather"}


@pytest.mark.parametrize("tool_choice", ["required", {"type": "function", "function": {"name": "get_weather"}}])
def test_a_tool_choice_that_forces_a_call_is_refused_saying_why(tool_choice):
    detail = refusal(tools=[WEATHER], tool_choice=tool_choice)
    assert "cannot force" in str(detail["tool_choice"])


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ({"type": "function"}, "tools"),
        (["get_weather"], "tools[0]"),
        ([{"type": "web_search"}], "tools[0].type"),
        ([{"type": "custom", "custom": {"name": "x"}}], "tools[0].type"),
        ([{"type": "function", "function": "get_weather"}], "tools[0].function"),
        ([{"type": "function", "function": {"name": "get weather"}}], "tools[0].function.name"),
        ([{"type": "function", "function": {"name": "f", "parameters": "{}"}}], "tools[0].function.parameters"),
        ([{"type": "function", "function": {"name": "f", "description": 1}}], "tools[0].function.description"),
        ([{"type": "function", "function": {"name": "f", "strict": True}}], "tools[0].function.strict"),
        ([{"type": "function", "function": {"name": "f", "strict": 0}}], "tools[0].function.strict"),
        ([{"type": "function", "function": {"name": "f"}, "cache_control": {}}], "tools[0].cache_control"),
    ],
)
def test_a_tool_we_cannot_honour_is_refused_naming_it(tools, param):
    assert param in refusal(tools=tools)


@pytest.mark.parametrize(
    ("call", "param"),
    [
        ({"type": "function", "function": {"name": "f", "arguments": "{}"}}, "messages[1].tool_calls[0].id"),
        ({"id": "c", "type": "function", "function": {"name": "f", "arguments": "not json"}},
         "messages[1].tool_calls[0].function.arguments"),
        ({"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}},
         "messages[1].tool_calls[0].function.arguments"),
        ({"id": "c", "type": "function", "function": {"name": "f", "arguments": {"city": "Paris"}}},
         "messages[1].tool_calls[0].function.arguments"),
        ({"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": NaN}'}},
         "messages[1].tool_calls[0].function.arguments"),
        ({"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"x": "\\u0000"}'}},
         "messages[1].tool_calls[0].function.arguments"),
        ({"id": "c", "type": "function", "function": {"arguments": "{}"}}, "messages[1].tool_calls[0].function.name"),
        ({"id": "c", "type": "custom", "function": {"name": "f", "arguments": "{}"}}, "messages[1].tool_calls[0].type"),
        ("f", "messages[1].tool_calls[0]"),
    ],
)
def test_an_assistant_tool_call_we_cannot_read_is_refused_naming_it(call, param):
    messages = [ASKED, {"role": "assistant", "content": None, "tool_calls": [call]}]
    with pytest.raises(ValidationError) as raised:
        chat_request({"model": MODEL, "messages": messages})
    assert param in raised.value.detail


def test_a_tool_messages_name_changes_nothing():
    named = dict(ANSWERED, name="get_weather")
    messages = chat_request({"model": MODEL, "messages": [ASKED, CALLED, named]}).content["messages"]
    assert messages[2] == {"role": "tool", "content": "sunny", "tool_name": "get_weather"}


def test_a_tool_message_without_an_earlier_call_of_its_id_is_refused():
    with pytest.raises(ValidationError) as raised:
        chat_request({"model": MODEL, "messages": [ASKED, CALLED, dict(ANSWERED, tool_call_id="call_9")]})
    assert "messages[2].tool_call_id" in raised.value.detail


# --- through HTTP -------------------------------------------------------------------------------


@pytest.fixture
def openai_api(api, standin, inline_worker):
    standin.configure(token_seconds=0, load_seconds=0.01)
    return api


def events(response):
    """A streamed answer's server-sent events (the worker ran inline: the request is done first)."""
    assert response.status_code == 200

    async def read():
        return b"".join([chunk async for chunk in response.streaming_content]).decode()

    data = [line.removeprefix("data: ") for line in async_to_sync(read)().splitlines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    return [json.loads(item) for item in data[:-1]]


@pytest.mark.django_db(transaction=True)
def test_a_tool_call_is_answered_with_ids_json_arguments_and_finish_reason_tool_calls(openai_api):
    response = openai_api.post(CHAT, {"model": MODEL, "messages": [ASKED], "tools": [WEATHER]}, format="json")
    assert response.status_code == 200, response.content
    [choice] = response.json()["choices"]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    request_id = GenerationRequest.objects.get().request_id
    assert call == {"id": f"call_{request_id.removeprefix('req_')}_0", "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    assert choice["message"]["content"] is None


@pytest.mark.django_db(transaction=True)
def test_a_streamed_tool_call_comes_as_delta_tool_calls_with_an_index(openai_api):
    response = openai_api.post(CHAT, {"model": MODEL, "messages": [ASKED], "tools": [WEATHER], "stream": True},
                               format="json")
    chunks = events(response)
    calls = [call for chunk in chunks for call in chunk["choices"][0]["delta"].get("tool_calls", [])]
    assert [(call["index"], call["function"]["name"], json.loads(call["function"]["arguments"])) for call in calls] == [
        (0, "get_weather", {"city": "Paris"})
    ]
    assert calls[0]["id"].startswith("call_") and calls[0]["type"] == "function"
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


@pytest.mark.django_db(transaction=True)
def test_the_second_turn_with_the_tools_result_is_answered_with_text(openai_api):
    body = {"model": MODEL, "messages": [ASKED, CALLED, ANSWERED], "tools": [WEATHER]}
    [choice] = openai_api.post(CHAT, body, format="json").json()["choices"]
    assert choice["message"] == {"role": "assistant", "content": "echo: sunny"}
    assert choice["finish_reason"] == "stop"


@pytest.mark.django_db(transaction=True)
def test_a_bad_tool_is_a_400_in_openais_shape_and_nothing_is_queued(api, idle_worker):
    tool = {"type": "function", "function": {"name": "f", "strict": True}}
    response = api.post(CHAT, {"model": MODEL, "messages": [ASKED], "tools": [tool]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "tools[0].function.strict"
    assert not GenerationRequest.objects.exists()
