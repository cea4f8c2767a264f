"""The three doors' calls that take a body, and their error shapes, for tests of bad input."""

from django.test import Client

# Every call that reads a JSON body: (method, path, door, a valid body).
BODY_CALLS = [
    ("post", "/api/v1/llm/generate", "native", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}),
    ("post", "/api/v1/llm/pull", "native", {"model": "llama3.2:1b"}),
    ("post", "/api/v1/llm/switch", "native", {"model": "llama3.2:1b"}),
    ("post", "/api/v1/llm/queue/process", "native", {"max_iterations": 1}),
    ("post", "/ollama/api/generate", "ollama", {"model": "llama3.2:1b", "prompt": "hi", "stream": False}),
    ("post", "/ollama/api/chat", "ollama",
     {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}], "stream": False}),
    ("post", "/ollama/api/show", "ollama", {"model": "llama3.2:1b"}),
    ("post", "/ollama/api/pull", "ollama", {"model": "llama3.2:1b", "stream": False}),
    ("delete", "/ollama/api/delete", "ollama", {"model": "llama3.2:1b"}),
    ("post", "/v1/chat/completions", "openai",
     {"model": "llama3.2:1b", "messages": [{"role": "user", "content": "hi"}]}),
    ("post", "/v1/completions", "openai", {"model": "llama3.2:1b", "prompt": "hi"}),
    ("post", "/ollama/api/embed", "ollama", {"model": "llama3.2:1b", "input": "hi"}),
    ("post", "/ollama/api/embeddings", "ollama", {"model": "llama3.2:1b", "prompt": "hi"}),
    ("post", "/v1/embeddings", "openai", {"model": "llama3.2:1b", "input": "hi"}),
]
# The calls that take a prompt, messages or input: where text from the client reaches the database.
GENERATION_CALLS = [call for call in BODY_CALLS if call[1].endswith(("generate", "chat", "completions", "embed", "embeddings"))]

# A function tool as OpenAI's and Ollama's clients send it (the stand-in calls it when a message names it).
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

DOOR_OF_PREFIX = {"/api/v1/llm/": "native", "/ollama/": "ollama", "/v1/": "openai"}


def call_id(call):
    return f"{call[0].upper()} {call[1]}"


def door_of(path):
    return next(door for prefix, door in DOOR_OF_PREFIX.items() if path.startswith(prefix))


def send_raw(token, method, path, body, content_type="application/json"):
    """A request with exactly these bytes as its body, CSRF checks on (as a real client meets them)."""
    client = Client(enforce_csrf_checks=True)
    body = body.encode() if isinstance(body, str) else body  # UTF-8, whatever the Content-Type says
    return client.generic(method.upper(), path, body, content_type=content_type, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_error_shape(response, door):
    """A JSON body in the door's own error shape (never an HTML page)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    if door == "native":
        assert set(body) == {"success", "error", "message"} and body["success"] is False, body
        assert isinstance(body["message"], str) and body["message"]
    elif door == "ollama":
        assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
        assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body


def error_message(body, door):
    if door == "native":
        return body["message"]
    if door == "ollama":
        return body["error"]
    return body["error"]["message"]
