"""The doors, each as a small adapter: how to ask it for something, how to read its errors.

The rule matrix (test_rule_matrix.py) runs every rule through every door with these,
so a rule that holds behind one door and not another shows as one failing cell.
"""

from dataclasses import dataclass
from typing import Callable

from rest_framework.test import APIClient

# The dashboard's own: a staff client (olga), a member client (alice), pages without collectstatic.
from tests.dashboard.conftest import member_client, plain_static_files, staff_client  # noqa: F401

MODEL = "llama3.2:1b"
NATIVE = "/api/v1/llm"


def native_error(response):
    body = response.json()
    assert set(body) == {"success", "error", "message"} and body["success"] is False, body
    return body["message"]


def ollama_error(response):
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str), body
    return body["error"]


def openai_error(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    return body["error"]["message"]


ERROR_READERS = {"native": native_error, "ollama": ollama_error, "openai": openai_error}


@dataclass(frozen=True)
class Generation:
    """One way to queue a generation through a door; `text` says where the text goes."""

    door: str
    path: str
    body: Callable[..., dict]
    accepted: int
    id: str = ""

    def send(self, client, text="hello", where="prompt"):
        # A stream is left unread: the request is stored before its first line all the same.
        return client.post(self.path, self.body(text, where), format="json")

    def error(self, response):
        return ERROR_READERS[self.door](response)


def _native(text, where):
    assert where == "prompt"
    return {"model": MODEL, "prompt": text, "wait": False}


def _ollama_generate(text, where):
    body = {"model": MODEL, "prompt": "hello", "stream": True}
    body[where] = text
    return body


def _chat(extra):
    def body(text, where):
        if where == "content-parts":
            content = [{"type": "text", "text": text[: len(text) // 2]}, {"type": "text", "text": text[len(text) // 2 :]}]
            messages = [{"role": "user", "content": content}]
        elif where == "system-message":
            messages = [{"role": "system", "content": text}]
        else:
            assert where in ("prompt", "messages")
            messages = [{"role": "user", "content": text}]
        return {"model": MODEL, "messages": messages, "stream": True, **extra}

    return body


def _openai_completions(text, where):
    assert where == "prompt"
    return {"model": MODEL, "prompt": text, "stream": True}


GENERATIONS = [
    Generation("native", f"{NATIVE}/generate", _native, 202, "native generate"),
    Generation("ollama", "/ollama/api/generate", _ollama_generate, 200, "ollama generate"),
    Generation("ollama", "/ollama/api/chat", _chat({}), 200, "ollama chat"),
    Generation("openai", "/v1/completions", _openai_completions, 200, "openai completions"),
    Generation("openai", "/v1/chat/completions", _chat({}), 200, "openai chat"),
]

# Every field whose text a model reads, through every door: (way, where the text goes).
TEXT_FIELDS = [
    (GENERATIONS[0], "prompt"),
    (GENERATIONS[1], "prompt"),
    (GENERATIONS[1], "system"),
    (GENERATIONS[2], "messages"),
    (GENERATIONS[2], "system-message"),
    (GENERATIONS[3], "prompt"),
    (GENERATIONS[4], "messages"),
    (GENERATIONS[4], "system-message"),
    (GENERATIONS[4], "content-parts"),
]

# A cheap call through each door, for the rate of every call.
READS = [
    ("native", f"{NATIVE}/models"),
    ("ollama", "/ollama/api/version"),
    ("openai", "/v1/models"),
]


def way_id(way):
    return way.id


def text_id(case):
    way, where = case
    return f"{way.id} {where}"


def client_for(raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client
