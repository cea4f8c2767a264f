"""The stand-in's /api/embed and legacy /api/embeddings, shaped as Ollama answers them.

Vectors are deterministic from the text (hashed words), normalized like Ollama's
/api/embed; the model is loaded like for a generation (loads counted, RAM budget).
"""

from __future__ import annotations

import math

EMBED_STATS = ("total_duration", "load_duration", "prompt_eval_count")


def embed(standin, http, **body):
    return http.post(standin.url + "/api/embed", json={"model": "llama3.2:1b", **body})


def norm(vector):
    return math.sqrt(sum(value * value for value in vector))


def test_it_embeds_one_text_as_a_list_of_one_normalized_vector(standin, http):
    response = embed(standin, http, input="Why is the sky blue?")
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "llama3.2:1b"
    [vector] = body["embeddings"]
    assert len(vector) > 100 and all(isinstance(value, float) for value in vector)
    assert math.isclose(norm(vector), 1.0, rel_tol=1e-6)
    assert all(isinstance(body[key], int) and body[key] > 0 for key in EMBED_STATS)


def test_it_embeds_a_list_in_order_and_the_same_text_gives_the_same_vector(standin, http):
    first = embed(standin, http, input=["Why is the sky blue?", "Why is the grass green?"]).json()["embeddings"]
    again = embed(standin, http, input=["Why is the grass green?"]).json()["embeddings"]
    assert len(first) == 2 and first[0] != first[1]
    assert again[0] == first[1]


def test_other_models_give_other_vectors(standin, http):
    one = embed(standin, http, input="same text").json()["embeddings"][0]
    other = embed(standin, http, model="llama3.2:3b", input="same text").json()["embeddings"][0]
    assert one != other


def test_dimensions_cuts_the_vector_and_normalizes_it_again(standin, http):
    full = embed(standin, http, input="cut me short").json()["embeddings"][0]
    [short] = embed(standin, http, input="cut me short", dimensions=8).json()["embeddings"]
    assert len(short) == 8
    assert math.isclose(norm(short), 1.0, rel_tol=1e-6)
    scale = norm(full[:8])
    assert all(math.isclose(a, b / scale, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(short, full[:8]))


def test_an_empty_input_loads_the_model_and_answers_no_vectors(standin, http):
    body = embed(standin, http, input="").json()
    assert body == {"model": "llama3.2:1b", "embeddings": []}
    assert standin.counters()["resident"] == ["llama3.2:1b"]


def test_it_loads_the_model_like_a_generation_and_counts_it(standin, http):
    embed(standin, http, input="load me", keep_alive=0)
    counters = standin.counters()
    assert counters["loads"] == 1 and counters["unloads"] == 1
    assert counters["embeds_by_model"] == {"llama3.2:1b": 1}
    assert counters["resident"] == []


def test_it_refuses_a_model_that_does_not_fit_in_the_ram_budget(standin, http):
    standin.configure(ram_mb=1000)
    response = embed(standin, http, model="gemma3:4b", input="too big")
    assert response.status_code == 500
    assert "more system memory" in response.json()["error"]


def test_an_unknown_model_is_a_404(standin, http):
    response = embed(standin, http, model="nomic-embed-text", input="hi")
    assert response.status_code == 404
    assert response.json() == {"error": "model 'nomic-embed-text' not found"}


def test_an_input_that_is_not_text_is_a_400(standin, http):
    for bad in ([1, 2, 3], {"text": "hi"}, 7):
        response = embed(standin, http, input=bad)
        assert response.status_code == 400
        assert response.json() == {"error": "invalid input type"}


def test_truncate_false_refuses_an_input_longer_than_the_context(standin, http):
    long_text = " ".join(["word"] * 40)
    refused = embed(standin, http, input=long_text, truncate=False, options={"num_ctx": 16})
    assert refused.status_code == 400
    assert refused.json() == {"error": "the input length exceeds the context length"}
    cut = embed(standin, http, input=long_text, options={"num_ctx": 16}).json()
    assert cut["prompt_eval_count"] == 16


def test_the_legacy_endpoint_answers_one_unnormalized_embedding(standin, http):
    response = http.post(standin.url + "/api/embeddings", json={"model": "llama3.2:1b", "prompt": "llamas"})
    assert response.status_code == 200
    legacy = response.json()
    assert list(legacy) == ["embedding"]
    [modern] = embed(standin, http, input="llamas").json()["embeddings"]
    scale = norm(legacy["embedding"])
    assert not math.isclose(scale, 1.0)
    assert all(math.isclose(a / scale, b, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(legacy["embedding"], modern))


def test_the_legacy_endpoint_with_an_empty_prompt_only_loads(standin, http):
    response = http.post(standin.url + "/api/embeddings", json={"model": "llama3.2:1b"})
    assert response.json() == {"embedding": []}
    assert standin.counters()["resident"] == ["llama3.2:1b"]
