"""llm/engine/ollama.py: what its errors may tell a client."""

import pytest

from llm.engine.ollama import Client, OllamaTimeout, OllamaUnavailable


def test_an_unreachable_ollama_is_named_without_its_credentials():
    client = Client("http://admin:s3cret@127.0.0.1:9")
    with pytest.raises(OllamaUnavailable) as raised:
        client.version()
    assert str(raised.value) == "Ollama is not reachable at http://127.0.0.1:9"
    assert "s3cret" not in str(raised.value)


def test_embed_waits_as_long_as_a_generation_may_not_only_the_read_timeout(standin, settings):
    """/api/embed answers only once every vector is made: the read timeout of a plain call is too short."""
    settings.OLLAMA_READ_TIMEOUT = 0.2
    settings.LLM_GENERATION_TIMEOUT = 60
    standin.configure(faults={"slow_seconds": 0.5})
    client = Client(standin.url)
    reply = client.embed({"model": "llama3.2:1b", "input": ["slow but sure"], "keep_alive": 0})
    assert len(reply["embeddings"]) == 1
    with pytest.raises(OllamaTimeout):
        client.version()
