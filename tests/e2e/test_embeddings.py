"""Embeddings through the real processes (gunicorn, qcluster, stand-in), with the official
`ollama` and `openai` clients: the doors' shapes, and the queue's single-model rule."""

import math
from concurrent.futures import ThreadPoolExecutor

import ollama
import openai
import pytest

from tests.support.service import poll

pytestmark = pytest.mark.e2e


def norm(vector):
    return math.sqrt(sum(value * value for value in vector))


def test_ollama_embed_through_the_official_client(ollama_client, standin):
    reply = ollama_client.embed(model="llama3.2:1b", input=["Why is the sky blue?", "Why is the grass green?"])
    assert reply.model == "llama3.2:1b"
    assert len(reply.embeddings) == 2 and reply.embeddings[0] != reply.embeddings[1]
    assert all(math.isclose(norm(vector), 1.0, rel_tol=1e-6) for vector in reply.embeddings)
    assert reply.prompt_eval_count == 12 and reply.total_duration > 0
    [short] = ollama_client.embed(model="llama3.2:1b", input="Why is the sky blue?", dimensions=24).embeddings
    assert len(short) == 24


def test_ollama_legacy_embeddings_through_the_official_client(ollama_client, standin):
    legacy = ollama_client.embeddings(model="phi4:mini", prompt="Here is an article about llamas")
    [modern] = ollama_client.embed(model="phi4:mini", input="Here is an article about llamas").embeddings
    assert list(legacy.embedding) == list(modern)


def test_openai_embeddings_through_the_official_client_in_base64_and_float(openai_client, ollama_client, standin):
    packed = openai_client.embeddings.create(model="llama3.2:1b", input="the same text")  # base64 by default
    floats = openai_client.embeddings.create(model="llama3.2:1b", input=["the same text"], encoding_format="float")
    [ollamas] = ollama_client.embed(model="llama3.2:1b", input="the same text").embeddings
    assert packed.object == "list" and packed.model == "llama3.2:1b"
    assert packed.data[0].object == "embedding" and packed.data[0].index == 0
    assert floats.data[0].embedding == list(ollamas)
    assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7) for a, b in zip(packed.data[0].embedding, ollamas))
    assert packed.usage.prompt_tokens == packed.usage.total_tokens == 4


def test_a_generate_token_may_embed_through_both_doors(service, standin):
    key = service.manage("create_token", "embedding script").strip()
    plain_ollama = ollama.Client(host=service.url + "/ollama", headers={"Authorization": f"Bearer {key}"})
    plain_openai = openai.OpenAI(base_url=service.url + "/v1", api_key=key, max_retries=0)
    assert len(plain_ollama.embed(model="llama3.2:1b", input="mine").embeddings) == 1
    assert len(plain_openai.embeddings.create(model="llama3.2:1b", input="mine").data) == 1


def test_bad_input_is_each_clients_normal_error(ollama_client, openai_client, standin):
    with pytest.raises(ollama.ResponseError) as raised:
        ollama_client.embed(model="nomic-embed-text", input="hi")
    assert raised.value.status_code == 404
    with pytest.raises(openai.NotFoundError):
        openai_client.embeddings.create(model="text-embedding-3-small", input="hi")
    with pytest.raises(openai.BadRequestError) as refused:
        openai_client.embeddings.create(model="llama3.2:1b", input=[[101, 102]])
    assert "token arrays" in refused.value.body["message"]


def test_an_embed_between_generations_of_another_model_makes_only_the_swaps_the_rule_requires(
    service, ollama_client, standin
):
    """Swap-aware: the generation queued after the embed runs first, on the model already
    loaded; then the embedding model is loaded once. Never two models resident.

    The first generation is long and cancelled once both others wait, so that they surely
    queue behind it (the stand-in notices the cancel at its next token, so the two
    generations of gemma3 may overlap there for a moment: that is why this test counts
    resident models, not concurrent generations)."""
    standin.configure(token_seconds=0.05)
    first = generate(service, "gemma3:4b", "holding the model", max_tokens=2000)
    poll(lambda: service.get(f"/requests/{first}").json()["status"] == "running", 30, message="the first to run")
    with ThreadPoolExecutor(max_workers=1) as pool:
        embedding = pool.submit(ollama_client.embed, model="qwen3:4b", input="between two generations")
        poll(lambda: service.get("/status").json()["queue_length"] == 1, 30, message="the embed to wait")
        second = generate(service, "gemma3:4b", "the same model again", max_tokens=2)
        assert service.session.delete(f"{service.url}/api/v1/llm/requests/{first}", timeout=30).status_code == 200
        assert len(embedding.result(timeout=120).embeddings) == 1
    assert service.wait_until_finished(second)["status"] == "done"
    counters = standin.counters()
    assert counters["loads"] == 2, counters  # gemma3 once, then qwen3 once: no swap back and forth
    assert counters["max_resident"] == 1
    assert counters["embeds_by_model"] == {"qwen3:4b": 1}
    assert counters["generations_by_model"] == {"gemma3:4b": 2}
    assert counters["resident"] == ["qwen3:4b"]


def generate(service, model, prompt, max_tokens):
    body = {"model": model, "prompt": prompt, "options": {"max_tokens": max_tokens}, "wait": False}
    response = service.post("/generate", body)
    assert response.status_code == 202, response.text
    return response.json()["request_id"]
