"""The Ollama door checks the type of each field it reads, as Ollama does: a 400 {"error"}, nothing queued."""

import pytest

from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db

GENERATE = {"model": "llama3.2:1b", "prompt": "hi", "stream": False}
CHAT = {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "stream": False}


@pytest.fixture(autouse=True)
def short_waits(settings):
    """A request that wrongly got through fails the test at once rather than waiting for the worker."""
    settings.LLM_COMPAT_WAIT_SECONDS = 0.1


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"prompt": 5}, "prompt"),
        ({"prompt": ["a"]}, "prompt"),
        ({"stream": "yes"}, "stream"),
        ({"system": {"a": 1}}, "system"),
        ({"suffix": 1}, "suffix"),
        ({"images": "abc"}, "images"),
        ({"images": [1]}, "images"),
        ({"format": 5}, "format"),
        ({"format": "xml"}, "format"),
        ({"raw": "true"}, "raw"),
        ({"context": "1,2"}, "context"),
        ({"options": [1]}, "options"),
    ],
)
def test_a_generate_field_of_the_wrong_type_is_a_400(api, standin, idle_worker, fields, name):
    response = api.post("/ollama/api/generate", {**GENERATE, **fields}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and name in response.json()["error"]
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize(
    ("messages", "name"),
    [
        ([{"role": "user", "content": 5}], "messages[0].content"),
        ([{"role": "user", "content": [{"type": "text", "text": "hi"}]}], "messages[0].content"),
        ([{"role": 1, "content": "hi"}], "messages[0].role"),
        ([{"content": "hi"}], "messages[0].role"),
        ([{"role": "user", "content": "hi", "images": "x"}], "messages[0].images"),
        (["hi"], "messages[0]"),
        ("hi", "messages"),
    ],
)
def test_a_chat_message_of_the_wrong_shape_is_a_400(api, standin, idle_worker, messages, name):
    response = api.post("/ollama/api/chat", {**CHAT, "messages": messages}, format="json")
    assert response.status_code == 400
    assert name in response.json()["error"]
    assert not GenerationRequest.objects.exists()


def test_chat_tools_must_be_a_list_of_objects(api, standin, idle_worker):
    response = api.post("/ollama/api/chat", {**CHAT, "tools": "all"}, format="json")
    assert response.status_code == 400 and "tools" in response.json()["error"]


@pytest.mark.parametrize("format_", ["json", "", {"type": "object"}])
def test_ollamas_formats_are_passed_on(api, standin, idle_worker, format_):
    response = api.post("/ollama/api/generate", {**GENERATE, "stream": True, "format": format_}, format="json")
    assert response.status_code == 200
    assert GenerationRequest.objects.get().extra == {"format": format_}


@pytest.mark.parametrize("keep_alive", ["", "-", "5", [], True])
def test_a_keep_alive_ollama_cannot_read_is_a_400(api, standin, keep_alive):
    response = api.post("/ollama/api/generate", {"model": "llama3.2:1b", "keep_alive": keep_alive}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


@pytest.mark.parametrize("body", [GENERATE, CHAT], ids=["generate", "chat"])
def test_a_null_stream_streams_as_an_absent_one_does(api, idle_worker, body):
    response = api.post(f"/ollama/api/{'chat' if 'messages' in body else 'generate'}", {**body, "stream": None},
                        format="json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    response.close()  # the client leaves: its request is cancelled
