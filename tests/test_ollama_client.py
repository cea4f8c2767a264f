"""llm/ollama.py: what its errors may tell a client."""

import pytest

from llm.ollama import Client, OllamaUnavailable


def test_an_unreachable_ollama_is_named_without_its_credentials():
    client = Client("http://admin:s3cret@127.0.0.1:9")
    with pytest.raises(OllamaUnavailable) as raised:
        client.version()
    assert str(raised.value) == "Ollama is not reachable at http://127.0.0.1:9"
    assert "s3cret" not in str(raised.value)
