"""Embeddings through the Ollama door (/ollama/api/embed, /ollama/api/embeddings) and the
OpenAI door (/v1/embeddings): shapes, the queue row behind each, and bad input in each door's shape."""

import base64
import math
import struct

import pytest

from llm.models import ApiToken, AuditEntry, GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

EMBED = "/ollama/api/embed"
LEGACY = "/ollama/api/embeddings"
OPENAI = "/v1/embeddings"


def post(client, path, **body):
    return client.post(path, body, format="json")


def norm(vector):
    return math.sqrt(sum(value * value for value in vector))


# --- Ollama's /api/embed ---------------------------------------------------------------


def test_it_answers_one_normalized_vector_per_text_in_ollamas_shape(api, standin, inline_worker):
    response = post(api, EMBED, model="llama3.2:1b", input=["Why is the sky blue?", "Why is the grass green?"])
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["model", "embeddings", "total_duration", "load_duration", "prompt_eval_count"]
    assert body["model"] == "llama3.2:1b"
    assert len(body["embeddings"]) == 2 and body["embeddings"][0] != body["embeddings"][1]
    assert all(math.isclose(norm(vector), 1.0, rel_tol=1e-6) for vector in body["embeddings"])
    assert body["prompt_eval_count"] == 12


def test_it_is_a_request_of_the_queue_like_a_generation(api, alice_token, standin, inline_worker):
    post(api, EMBED, model="llama3.2:1b", input="queued like the others")
    row = GenerationRequest.objects.get()
    assert (row.kind, row.status, row.source) == ("embed", "done", "ollama")
    assert row.token == alice_token[0] and row.input == ["queued like the others"]
    assert row.model == "llama3.2:1b" and len(row.embeddings) == 1
    assert standin.counters()["embeds_by_model"] == {"llama3.2:1b": 1}


def test_a_generate_token_may_embed(api, alice_token, standin, inline_worker):
    assert alice_token[0].role == ApiToken.Role.GENERATE
    assert post(api, EMBED, model="llama3.2:1b", input="hi").status_code == 200
    assert post(api, LEGACY, model="llama3.2:1b", prompt="hi").status_code == 200
    assert post(api, OPENAI, model="llama3.2:1b", input="hi").status_code == 200


def test_the_tag_of_a_catalog_model_is_a_name_for_it_too(api, standin, inline_worker):
    response = post(api, EMBED, model="phi4-mini:latest", input="by tag")
    assert response.status_code == 200
    assert response.json()["model"] == "phi4-mini:latest"
    assert GenerationRequest.objects.get().model == "phi4:mini"


def test_dimensions_and_truncate_reach_ollama(api, standin, inline_worker):
    [vector] = post(api, EMBED, model="llama3.2:1b", input="short one", dimensions=16, truncate=True).json()["embeddings"]
    assert len(vector) == 16
    long = post(api, EMBED, model="llama3.2:1b", input=" ".join(["word"] * 40), options={"num_ctx": 16}).json()
    assert long["prompt_eval_count"] == 16


def test_an_empty_input_loads_the_model_as_an_operators_switch_and_answers_no_vectors(admin_api, standin):
    response = post(admin_api, EMBED, model="llama3.2:1b", input="")
    assert response.json() == {"model": "llama3.2:1b", "embeddings": []}
    assert post(admin_api, LEGACY, model="qwen3:4b", prompt="").json() == {"embedding": []}
    assert standin.counters()["resident"] == ["qwen3:4b"]
    assert sorted(AuditEntry.objects.filter(action="switch").values_list("target", flat=True)) == [
        "llama3.2:1b", "qwen3:4b"
    ]


@pytest.mark.parametrize("path, body", [(EMBED, {"input": ""}), (EMBED, {"input": []}), (LEGACY, {"prompt": ""})])
def test_a_generate_token_cannot_load_a_model_by_embedding_nothing(api, standin, path, body):
    response = post(api, path, model="llama3.2:1b", **body)
    assert response.status_code == 403
    assert "admin token" in response.json()["error"]
    assert standin.counters()["resident"] == []


def test_a_failed_embed_is_ollamas_error_shape(api, standin, inline_worker):
    standin.configure(faults={"load_oom": True})
    response = post(api, EMBED, model="llama3.2:1b", input="no room")
    assert response.status_code == 500
    assert "more system memory" in response.json()["error"]


def test_an_input_longer_than_the_context_with_truncate_false_is_ollamas_400(api, standin, inline_worker):
    long = " ".join(["word"] * 40)
    response = post(api, EMBED, model="llama3.2:1b", input=long, truncate=False, options={"num_ctx": 16})
    assert response.status_code == 400
    assert response.json() == {"error": "the input length exceeds the context length"}
    assert GenerationRequest.objects.get().status == "failed"


# --- The legacy /api/embeddings --------------------------------------------------------


def test_the_legacy_endpoint_takes_a_prompt_and_answers_one_embedding(api, standin, inline_worker):
    legacy = post(api, LEGACY, model="llama3.2:1b", prompt="Here is an article about llamas")
    assert legacy.status_code == 200
    assert list(legacy.json()) == ["embedding"]
    [modern] = post(api, EMBED, model="llama3.2:1b", input="Here is an article about llamas").json()["embeddings"]
    assert legacy.json()["embedding"] == modern


def test_the_legacy_endpoint_with_no_prompt_only_loads_the_model(admin_api, standin):
    assert post(admin_api, LEGACY, model="gemma3:4b").json() == {"embedding": []}
    assert standin.counters()["resident"] == ["gemma3:4b"]


# --- OpenAI's /v1/embeddings -----------------------------------------------------------


def test_openai_shape_with_float_vectors(api, standin, inline_worker):
    response = post(api, OPENAI, model="llama3.2:1b", input=["first text", "second text"], encoding_format="float")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["model"] == "llama3.2:1b"
    assert [(item["object"], item["index"]) for item in body["data"]] == [("embedding", 0), ("embedding", 1)]
    assert all(isinstance(value, float) for value in body["data"][0]["embedding"])
    assert body["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
    assert GenerationRequest.objects.get().source == "openai"


def test_openai_base64_is_the_same_vector_as_little_endian_float32(api, standin, inline_worker):
    floats = post(api, OPENAI, model="llama3.2:1b", input="pack me").json()["data"][0]["embedding"]
    packed = post(api, OPENAI, model="llama3.2:1b", input="pack me", encoding_format="base64").json()
    raw = base64.b64decode(packed["data"][0]["embedding"])
    unpacked = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(unpacked) == len(floats)
    assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7) for a, b in zip(unpacked, floats))


def test_openai_dimensions_shortens_the_vectors(api, standin, inline_worker):
    body = post(api, OPENAI, model="llama3.2:1b", input="short", dimensions=32).json()
    assert len(body["data"][0]["embedding"]) == 32


# --- Bad input, in each door's shape ---------------------------------------------------


@pytest.mark.parametrize("bad", [[1, 2, 3], {"text": "hi"}, 7, ["ok", None]])
def test_ollama_refuses_an_input_that_is_not_text(api, standin, idle_worker, bad):
    response = post(api, EMBED, model="llama3.2:1b", input=bad)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid input type"}
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize(
    "field, value",
    [("truncate", "yes"), ("dimensions", "8"), ("dimensions", 0), ("options", {"temperature": "hot"}),
     ("keep_alive", "a while")],
)
def test_ollama_refuses_bad_fields_naming_them(api, standin, idle_worker, field, value):
    response = post(api, EMBED, model="llama3.2:1b", input="hi", **{field: value})
    assert response.status_code == 400
    assert list(response.json()) == ["error"]
    assert (field if field != "options" else "temperature") in response.json()["error"]


@pytest.mark.parametrize("path", [EMBED, LEGACY, OPENAI])
def test_a_body_that_is_not_a_json_object_is_a_400_in_the_doors_shape(api, standin, idle_worker, path):
    for body in ('["llama3.2:1b", "hi"]', "not json at all"):
        response = api.post(path, body, content_type="application/json")
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert isinstance(error["message"] if path == OPENAI else error, str)


def test_ollama_refuses_a_legacy_prompt_that_is_not_text(api, standin, idle_worker):
    response = post(api, LEGACY, model="llama3.2:1b", prompt=["a", "b"])
    assert response.status_code == 400
    assert response.json() == {"error": "prompt must be a string"}


def test_an_unknown_model_is_the_doors_404(api, standin, idle_worker):
    for path in (EMBED, LEGACY):
        response = post(api, path, model="nomic-embed-text", input="hi", prompt="hi")
        assert response.status_code == 404
        assert response.json() == {"error": 'model "nomic-embed-text" not found, try pulling it first'}
    response = post(api, OPENAI, model="text-embedding-3-small", input="hi")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert not GenerationRequest.objects.exists()


def test_input_over_the_prompt_limit_is_413_in_each_doors_shape(api, standin, idle_worker, settings):
    settings.LLM_MAX_PROMPT_CHARS = 10
    response = post(api, EMBED, model="llama3.2:1b", input=["x" * 6, "y" * 6])
    assert response.status_code == 413
    assert response.json() == {"error": "input: longer than the 10 characters allowed (all their contents together)"}
    response = post(api, OPENAI, model="llama3.2:1b", input="x" * 11)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "input: longer than the 10 characters allowed (all their contents together)"


@pytest.mark.parametrize(
    "bad, says",
    [([1, 2, 3], "token arrays"), ([[1, 2], [3]], "token arrays"), ("", "empty"), ([], "empty"),
     (["fine", ""], "empty"), (None, "input"), ({"a": 1}, "input")],
)
def test_openai_refuses_bad_input_in_openais_shape(api, standin, idle_worker, bad, says):
    response = post(api, OPENAI, model="llama3.2:1b", input=bad)
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert says in error["message"]


@pytest.mark.parametrize("field, value", [("encoding_format", "hex"), ("dimensions", -3), ("dimensions", "8")])
def test_openai_refuses_bad_parameters_naming_them(api, standin, idle_worker, field, value):
    response = post(api, OPENAI, model="llama3.2:1b", input="hi", **{field: value})
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_no_token_is_401_in_each_doors_shape(anonymous_api, standin):
    assert post(anonymous_api, EMBED, model="llama3.2:1b", input="hi").json() == {
        "error": "Invalid or missing Bearer token"
    }
    response = post(anonymous_api, OPENAI, model="llama3.2:1b", input="hi")
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"


def test_embeds_count_against_the_generation_rate(api, standin, inline_worker, settings):
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {**rates, "generation.generate": "2/min"}
    }
    codes = [post(api, EMBED, model="llama3.2:1b", input="hi").status_code for _ in range(2)]
    refused = post(api, OPENAI, model="llama3.2:1b", input="hi")
    assert codes == [200, 200]
    assert refused.status_code == 429 and refused.has_header("Retry-After")
    assert refused.json()["error"]["type"] == "rate_limit_error"
