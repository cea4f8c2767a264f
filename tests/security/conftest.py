"""Tokens of every kind, and the list of the API's calls, for the security tests."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from llm.models import ApiToken

API = "/api/v1/llm"

# Every call of the API: (method, path, body, needs an admin token).
CALLS = [
    ("post", "/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}, False),
    ("get", "/requests/req_0000", None, False),
    ("delete", "/requests/req_0000", None, False),
    ("get", "/status", None, False),
    ("get", "/models", None, False),
    ("post", "/pull", {"model": "llama3.2:1b"}, True),
    ("post", "/pull-all", None, True),
    ("get", "/pulls", None, True),
    ("get", "/pulls/1", None, True),
    ("post", "/switch", {"model": "llama3.2:1b"}, True),
    ("post", "/unload", None, True),
    ("post", "/queue/process", {"max_iterations": 1}, True),
    ("post", "/queue/clear", None, True),
]
ADMIN_CALLS = [call for call in CALLS if call[3]]


def call_id(call):
    method, path, _, _ = call
    return f"{method.upper()} {path}"


def send(client, call):
    method, path, body, _ = call
    return getattr(client, method)(API + path, body, format="json")


def client_with(raw):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def token(admin_token, standin, inline_worker, settings):
    """An admin token's key; a body that wrongly gets through runs at once on a quick stand-in."""
    standin.configure(token_seconds=0, load_seconds=0.01, pull_seconds=0.02)
    settings.LLM_GENERATE_WAIT_SECONDS = settings.LLM_PULL_WAIT_SECONDS = 5
    return admin_token[1]


@pytest.fixture
def revoked_token(db):
    token, raw = ApiToken.issue("revoked script")
    token.revoke()
    return token, raw


@pytest.fixture
def expired_token(db):
    token, raw = ApiToken.issue("expired script")
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return token, raw


@pytest.fixture
def bob_token(db):
    """A second generate token, to show that tokens do not see each other's requests."""
    return ApiToken.issue("bob's script")


@pytest.fixture(autouse=True)
def _no_static_manifest(settings):
    """No collectstatic in these tests: admin and docs pages must not need the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
