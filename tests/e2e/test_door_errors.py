"""What the official clients show for a call the gateway refuses: a readable error, never an HTML page."""

import ollama
import openai
import pytest

pytestmark = pytest.mark.e2e


def test_an_ollama_call_the_gateway_lacks_is_a_short_404(ollama_client, standin):
    with pytest.raises(ollama.ResponseError) as raised:
        ollama_client.copy("llama3.2:1b", "mine")
    assert raised.value.status_code == 404
    assert raised.value.error == "Endpoint not found: POST /ollama/api/copy"


def test_an_openai_field_the_gateway_cannot_honour_is_a_bad_request_naming_it(openai_client, standin):
    tool = {"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as raised:
        openai_client.chat.completions.create(
            model="llama3.2:1b", messages=[{"role": "user", "content": "hi"}], tools=[tool], tool_choice="required"
        )
    assert raised.value.body["param"] == "tool_choice" and "cannot force" in raised.value.body["message"]


def test_one_model_through_the_official_client(openai_client, standin):
    model = openai_client.models.retrieve("llama3.2:3b")
    assert (model.id, model.object) == ("llama3.2:3b", "model")
    with pytest.raises(openai.NotFoundError) as raised:
        openai_client.models.retrieve("gpt-5")
    assert raised.value.body["code"] == "model_not_found"


def test_json_mode_through_the_official_client(openai_client, standin):
    reply = openai_client.chat.completions.create(
        model="llama3.2:1b", messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"},
        max_tokens=4,
    )
    assert reply.choices[0].message.content
