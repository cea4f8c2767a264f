"""Our API, the Ollama door and the OpenAI door share one queue and one worker."""

from concurrent.futures import ThreadPoolExecutor

import ollama
import openai
import pytest
import requests

from tests.support.service import API, poll

pytestmark = pytest.mark.e2e

MODELS = ["gemma3:4b", "qwen3:4b", "phi4:mini"]  # any two overflow the stand-in's 4 GiB


def through_our_api(service, n):
    body = {"model": MODELS[n % 3], "prompt": f"ours {n}", "wait": True, "options": {"max_tokens": 5}}
    response = requests.post(service.url + API + "/generate", json=body, headers={"X-API-Key": service.token}, timeout=120)
    return response.json()["response"]


def through_ollama(service, n):
    client = ollama.Client(host=service.url + "/ollama", headers={"Authorization": f"Bearer {service.token}"})
    return client.chat(model=MODELS[(n + 1) % 3], messages=[{"role": "user", "content": f"ollama {n}"}],
                       options={"num_predict": 5}).message.content


def through_openai(service, n):
    client = openai.OpenAI(base_url=service.url + "/v1", api_key=service.token, max_retries=0)
    return client.completions.create(model=MODELS[(n + 2) % 3], prompt=f"openai {n}", max_tokens=5).choices[0].text


def test_requests_through_three_doors_interleave_one_at_a_time(service, standin):
    doors = [through_our_api, through_ollama, through_openai]
    with ThreadPoolExecutor(max_workers=18) as pool:
        answers = list(pool.map(lambda n: doors[n % 3](service, n), range(18)))
    assert all(answer.strip() for answer in answers)
    counters = standin.counters()
    assert counters["generations"] == 18
    assert counters["max_resident"] == 1
    assert counters["max_concurrent_generations"] == 1
    assert counters["load_failures"] == 0


def test_status_answers_while_16_streams_are_open(service, standin):
    """Open streams hold no web thread: /status answers while they are still queued (not once
    they end), whatever the machine's speed."""
    standin.configure(token_seconds=0.05)

    def stream(n):
        body = {"model": MODELS[n % 3], "prompt": f"stream {n}", "stream": True, "options": {"max_tokens": 10}}
        with requests.post(service.url + API + "/generate", json=body, headers={"X-API-Key": service.token},
                           stream=True, timeout=120) as response:
            return sum(1 for line in response.iter_lines() if line)

    with ThreadPoolExecutor(max_workers=16) as pool:
        streams = [pool.submit(stream, n) for n in range(16)]
        poll(lambda: service.get("/status").json()["queue_length"] >= 12, 30, message="most streams to queue")
        answers = [service.get("/status", timeout=30) for _ in range(10)]
        queued_meanwhile = service.get("/status").json()["queue_length"]
        service.post("/queue/clear")
        assert all(future.result() > 0 for future in streams)
    assert [answer.status_code for answer in answers] == [200] * 10
    assert queued_meanwhile >= 1, "the streams had ended before /status answered: it waited for them"
