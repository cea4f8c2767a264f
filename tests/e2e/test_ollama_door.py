"""The Ollama-compatible door, driven by the official `ollama` Python client."""

import time
from concurrent.futures import ThreadPoolExecutor

import ollama
import pytest
import requests

from tests.support.doors import WEATHER
from tests.support.service import poll

pytestmark = pytest.mark.e2e


def test_generate_through_the_official_client(ollama_client, standin):
    reply = ollama_client.generate(model="llama3.2:1b", prompt="Why is the sky blue?", options={"num_predict": 6})
    assert reply.done is True
    assert "sky" in reply.response
    assert reply.eval_count == 6
    assert reply.model == "llama3.2:1b"


def test_streamed_generate_through_the_official_client(ollama_client, standin):
    standin.configure(token_seconds=0.05)
    chunks = []
    for chunk in ollama_client.generate(model="llama3.2:1b", prompt="count for me", stream=True, options={"num_predict": 12}):
        chunks.append((time.monotonic(), chunk))
    texts = [(at, chunk) for at, chunk in chunks if chunk.response]
    assert chunks[-1][1].done is True and chunks[-1][1].eval_count == 12
    assert len(texts) >= 4
    assert chunks[-1][0] - texts[0][0] > 0.2, "the first text should arrive well before the end"


def test_chat_through_the_official_client(ollama_client, standin):
    reply = ollama_client.chat(model="phi4:mini", messages=[{"role": "user", "content": "hello there"}])
    assert reply.message.role == "assistant"
    assert "hello" in reply.message.content
    assert reply.done is True


def test_streamed_chat_through_the_official_client(ollama_client, standin):
    parts = [chunk.message.content for chunk in ollama_client.chat(
        model="llama3.2:3b", messages=[{"role": "user", "content": "tell me more"}], stream=True
    )]
    assert "".join(parts).strip()


def test_list_and_ps_use_catalog_names(ollama_client, standin):
    names = {model.model for model in ollama_client.list().models}
    assert {"phi4:mini", "llama3.2:1b", "gemma3:4b"} <= names
    ollama_client.generate(model="phi4:mini", prompt="load me")
    assert [model.model for model in ollama_client.ps().models] == ["phi4:mini"]


def test_show_and_version(service, ollama_client, standin):
    assert ollama_client.show("llama3.2:1b").details.family
    assert service.session.get(service.url + "/ollama/api/version", timeout=10).json()["version"]


def test_curl_style_bodies_without_a_json_content_type_are_read(service, standin):
    response = service.session.post(
        service.url + "/ollama/api/generate",
        data='{"model": "llama3.2:1b", "prompt": "plain curl -d", "stream": false}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 200 and response.json()["done"] is True


def test_an_unknown_model_gets_ollamas_error(ollama_client, standin):
    with pytest.raises(ollama.ResponseError) as raised:
        ollama_client.generate(model="mixtral:8x22b", prompt="hi")
    assert raised.value.status_code == 404
    assert raised.value.error == 'model "mixtral:8x22b" not found, try pulling it first'


def test_a_wrong_token_is_refused_with_the_clients_normal_error(service, standin):
    stranger = ollama.Client(host=service.url + "/ollama", headers={"Authorization": "Bearer wrong"})
    with pytest.raises(ollama.ResponseError) as raised:
        stranger.generate(model="llama3.2:1b", prompt="hi")
    assert raised.value.status_code == 401


def test_an_empty_prompt_loads_and_keep_alive_zero_unloads(ollama_client, standin):
    ollama_client.generate(model="gemma3:4b", prompt="")
    assert standin.counters()["resident"] == ["gemma3:4b"]
    ollama_client.generate(model="gemma3:4b", prompt="", keep_alive=0)
    poll(lambda: standin.counters()["resident"] == [], 5, message="the model to unload")


def test_pull_streams_progress_with_an_admin_token(ollama_client, standin):
    standin.configure(installed=[])
    statuses = [progress.status for progress in ollama_client.pull("qwen3:4b", stream=True)]
    assert statuses[0] == "pulling manifest" and statuses[-1] == "success"
    assert any(status.startswith("pulling ") and status != "pulling manifest" for status in statuses)
    assert "qwen3:4b" in {model.model for model in ollama_client.list().models}


def test_pull_delete_load_and_unload_need_an_admin_token(service, standin):
    key = service.manage("create_token", "generate only").strip()
    plain = ollama.Client(host=service.url + "/ollama", headers={"Authorization": f"Bearer {key}"})
    calls = (
        lambda: plain.pull("qwen3:4b"),
        lambda: plain.delete("qwen3:4b"),
        lambda: plain.generate(model="gemma3:4b", prompt=""),
        lambda: plain.chat(model="gemma3:4b", messages=[], keep_alive=0),
    )
    for call in calls:
        with pytest.raises(ollama.ResponseError) as raised:
            call()
        assert raised.value.status_code == 403
    assert standin.counters()["resident"] == []


def test_delete_removes_a_model(ollama_client, standin):
    ollama_client.delete("qwen3:4b")
    assert "qwen3:4b" not in {model.model for model in ollama_client.list().models}


def test_think_through_the_official_client_gives_the_thinking_apart_from_the_answer(ollama_client, standin):
    reply = ollama_client.chat(model="llama3.2:1b", messages=[{"role": "user", "content": "why blue"}], think=True)
    assert reply.message.thinking == "The question is: why blue"
    assert reply.message.content == "echo: why blue"
    streamed = list(ollama_client.generate(model="llama3.2:1b", prompt="why blue", think=True, stream=True))
    assert "".join(chunk.thinking or "" for chunk in streamed) == "The question is: why blue"
    assert "".join(chunk.response for chunk in streamed) == "echo: why blue"


@pytest.mark.parametrize("stream", [False, True], ids=["unstreamed", "streamed"])
def test_tools_through_the_official_client_give_tool_calls(ollama_client, standin, stream):
    messages = [{"role": "user", "content": "call get_weather Paris"}]
    reply = ollama_client.chat(model="llama3.2:1b", messages=messages, tools=[WEATHER], stream=stream)
    chunks = list(reply) if stream else [reply]
    calls = [call for chunk in chunks for call in chunk.message.tool_calls or []]
    assert [(call.function.name, dict(call.function.arguments)) for call in calls] == [("get_weather", {"city": "Paris"})]
    assert chunks[-1].done is True and chunks[-1].done_reason == "stop"
    messages += [chunks[-1].message if not stream else {"role": "assistant", "content": "", "tool_calls": calls},
                 {"role": "tool", "content": "sunny", "tool_name": "get_weather"}]
    assert ollama_client.chat(model="llama3.2:1b", messages=messages, tools=[WEATHER]).message.content == "echo: sunny"


def test_pulls_that_wait_hold_no_thread_while_generations_are_answered(service, standin):
    """More non-streamed pulls than the waiters' database threads (LLM_WAIT_DB_THREADS, 4): they wait
    as coroutines, so a generation that waits is answered before the first of them ends."""
    standin.configure(installed=["llama3.2:1b"], pull_seconds=4.0)  # one at a time: 20 s in all
    models = ["qwen3:4b", "gemma3:4b", "phi4:mini", "llama3.2:3b", "qwen2.5-coder:3b"]
    headers = {"Authorization": f"Bearer {service.token}"}

    def pull(model):
        return requests.post(service.url + "/ollama/api/pull", json={"model": model, "stream": False},
                             headers=headers, timeout=120)

    def unfinished_pulls():
        return [p for p in service.get("/pulls").json()["pulls"] if p["status"] in ("queued", "running")]

    with ThreadPoolExecutor(max_workers=len(models)) as pool:
        pulls = [pool.submit(pull, model) for model in models]
        poll(lambda: len(unfinished_pulls()) == len(models), 30, message="every pull to be stored")
        answer = service.post("/generate", {"model": "llama3.2:1b", "prompt": "while they pull", "wait": True})
        still_pulling = len(unfinished_pulls())
        outcomes = [future.result() for future in pulls]
    assert answer.status_code == 200 and answer.json()["success"] is True
    assert still_pulling == len(models), "the generation was answered only once a pull had ended"
    assert [(outcome.status_code, outcome.json()) for outcome in outcomes] == [(200, {"status": "success"})] * 5
