"""What the OpenAI door does with each request field: honoured, or refused with a 400 naming it; never dropped."""

import pytest

from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def openai_api(api, standin, inline_worker):
    standin.configure(token_seconds=0, load_seconds=0.01)
    return api


def chat(client, **fields):
    return client.post(CHAT, {"model": "llama3.2:1b", "messages": MESSAGES, **fields}, format="json")


def assert_refused(response, param):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert param.split(".")[0].split("[")[0] in error["message"]
    assert not GenerationRequest.objects.exists()


def test_json_object_response_format_asks_ollama_for_json(openai_api):
    response = chat(openai_api, response_format={"type": "json_object"})
    assert response.status_code == 200
    assert GenerationRequest.objects.get().extra == {"format": "json"}


def test_a_json_schema_response_format_gives_ollama_the_schema(openai_api):
    schema = {"type": "object", "properties": {"age": {"type": "integer"}}, "required": ["age"]}
    response = chat(openai_api, response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}})
    assert response.status_code == 200
    assert GenerationRequest.objects.get().extra == {"format": schema}


def test_a_text_response_format_is_the_default(openai_api):
    assert chat(openai_api, response_format={"type": "text"}).status_code == 200
    assert GenerationRequest.objects.get().extra == {}


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "xml"}, "response_format.type"),
        ("json", "response_format"),
        ({"type": "json_schema"}, "response_format.json_schema"),
        ({"type": "json_schema", "json_schema": {"schema": "no"}}, "response_format.json_schema.schema"),
    ],
)
def test_a_response_format_we_cannot_read_is_a_400(openai_api, response_format, param):
    assert_refused(chat(openai_api, response_format=response_format), param)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tool_choice", "required"),
        ("functions", [{"name": "f", "parameters": {}}]),
        ("function_call", {"name": "f"}),
        ("logprobs", True),
        ("top_logprobs", 2),
        ("n", 2),
        ("logit_bias", {"50256": -100}),
        ("audio", {"voice": "alloy", "format": "wav"}),
        ("modalities", ["text", "audio"]),
        ("prediction", {"type": "content", "content": "x"}),
        ("web_search_options", {}),
        ("some_new_field", 1),
    ],
)
def test_a_chat_field_we_cannot_honour_is_a_400_naming_it(openai_api, field, value):
    assert_refused(chat(openai_api, **{field: value}), field)


@pytest.mark.parametrize(
    ("field", "value"),
    [("tools", []), ("tool_choice", "none"), ("logprobs", False), ("n", 1), ("logit_bias", {}), ("user", "u-1"),
     ("modalities", ["text"]), ("parallel_tool_calls", None), ("store", False), ("metadata", {"a": "b"})],
)
def test_a_field_that_asks_for_nothing_we_lack_is_accepted(openai_api, field, value):
    assert chat(openai_api, **{field: value}).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("echo", True), ("logprobs", 3), ("best_of", 2), ("n", 3), ("logit_bias", {"1": 1}), ("response_format", {"type": "json_object"})],
)
def test_a_completions_field_we_cannot_honour_is_a_400_naming_it(openai_api, field, value):
    response = openai_api.post(COMPLETIONS, {"model": "llama3.2:1b", "prompt": "hi", field: value}, format="json")
    assert_refused(response, field)


def test_a_completions_suffix_reaches_ollama(openai_api):
    response = openai_api.post(COMPLETIONS, {"model": "llama3.2:1b", "prompt": "def f(", "suffix": "return x"}, format="json")
    assert response.status_code == 200
    assert GenerationRequest.objects.get().extra == {"suffix": "return x"}


@pytest.mark.parametrize(
    ("content", "param"),
    [
        ([1, "a", {"text": 5}], "messages[0].content"),
        ([{"type": "text", "text": 5}], "messages[0].content"),
        ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}], "messages[0].content"),
        (5, "messages[0].content"),
        ({"text": "hi"}, "messages[0].content"),
    ],
)
def test_content_that_is_not_text_is_a_400(openai_api, content, param):
    assert_refused(chat(openai_api, messages=[{"role": "user", "content": content}]), param)


def test_text_parts_are_joined(openai_api):
    content = [{"type": "text", "text": "hello "}, {"type": "text", "text": "there"}]
    assert chat(openai_api, messages=[{"role": "user", "content": content}]).status_code == 200
    assert GenerationRequest.objects.get().messages == [{"role": "user", "content": "hello there"}]


@pytest.mark.parametrize(
    ("messages", "param"),
    [
        ([{"role": 5, "content": "hi"}], "messages[0].role"),
        ([{"role": "wizard", "content": "hi"}], "messages[0].role"),
        ([{"role": "tool", "content": "42", "tool_call_id": "x"}], "messages[0].tool_call_id"),
        ([{"content": "hi"}], "messages[0].role"),
        ([{"role": "user", "content": "hi", "name": "bob"}], "messages[0].name"),
        ([], "messages"),
        ("hi", "messages"),
        (["hi"], "messages[0]"),
    ],
)
def test_messages_we_cannot_read_are_a_400(openai_api, messages, param):
    assert_refused(chat(openai_api, messages=messages), param)


def test_a_developer_message_is_a_system_message_for_ollama(openai_api):
    messages = [{"role": "developer", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert chat(openai_api, messages=messages).status_code == 200
    assert GenerationRequest.objects.get().messages[0] == {"role": "system", "content": "be brief"}


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"stream": True, "stream_options": ["include_usage"]}, "stream_options"),
        ({"stream": True, "stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
        ({"stream": "yes"}, "stream"),
        ({"temperature": "hot"}, "temperature"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"max_completion_tokens": 10**9}, "max_completion_tokens"),
        ({"stop": [1]}, "stop"),
        ({"model": 5}, "model"),
    ],
)
def test_a_field_of_the_wrong_type_is_a_400_naming_it(openai_api, fields, param):
    assert_refused(chat(openai_api, **fields), param)


def test_stream_options_without_stream_is_a_400(openai_api):
    assert_refused(chat(openai_api, stream_options={"include_usage": True}), "stream_options")
