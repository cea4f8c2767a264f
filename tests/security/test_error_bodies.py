"""No secret in error bodies or logs; tokens never shown in full after creation; production settings."""

import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from llm.doors import views
from llm.models import ApiToken
from tests.security.conftest import API

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def test_a_wrong_token_is_neither_echoed_nor_logged(anonymous_api, caplog):
    guess = "llm_" + secrets.token_urlsafe(32)
    with caplog.at_level(logging.DEBUG):
        response = anonymous_api.get(f"{API}/status", HTTP_X_API_KEY=guess)
    assert response.status_code == 401
    assert guess not in response.content.decode() and guess not in caplog.text


def test_a_valid_token_is_not_logged_on_a_failing_call(api, alice_token, caplog, monkeypatch):
    def explode(request):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(views.StatusViewSet, "list", lambda self, request: explode(request))
    with caplog.at_level(logging.DEBUG):
        response = api.get(f"{API}/status")
    assert response.status_code == 500
    assert response.json() == {"success": False, "error": "Internal Server Error", "message": "Internal server error"}
    assert "the disk is on fire" in caplog.text  # the operator sees what broke ...
    assert alice_token[1] not in caplog.text  # ... but not the key


def test_a_token_is_shown_by_its_prefix_only(alice_token):
    token, raw = alice_token
    assert raw not in str(token) and str(token).startswith(token.name)
    assert len(token.prefix) < len(raw) / 3


def test_a_post_to_an_unknown_api_path_is_a_json_404_even_with_csrf_checks():
    # Django's CSRF check would answer an HTML 403 to an API client that sends no CSRF token.
    response = Client(enforce_csrf_checks=True).post(f"{API}/queue/flush", {}, content_type="application/json")
    assert response.status_code == 404
    assert response.json()["message"] == "Endpoint not found: /queue/flush"


def test_the_api_needs_no_csrf_token(alice_token):
    response = Client(enforce_csrf_checks=True).post(
        f"{API}/generate", {"model": "nope", "prompt": "hi"}, content_type="application/json",
        HTTP_X_API_KEY=alice_token[1],
    )
    assert response.status_code == 400


def check_deploy(tmp_path, **env):
    environment = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "ALLOWED_HOSTS", "DATABASE_URL"))
    }
    environment.update(LLM_DATA_DIR=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO, env=environment, capture_output=True, text=True,
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    # What README, "Security", tells an operator to set.
    result = check_deploy(
        tmp_path,
        DJANGO_HTTPS="true",
        DJANGO_HSTS_PRELOAD="true",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="llm.example.com",
        CSRF_TRUSTED_ORIGINS="https://llm.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_without_https_the_deploy_check_says_what_is_missing(tmp_path):
    result = check_deploy(tmp_path, DJANGO_SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_the_generated_secret_key_is_strong_enough_for_production(tmp_path):
    result = check_deploy(tmp_path, DJANGO_HTTPS="true", DJANGO_HSTS_PRELOAD="true")
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "secret_key").read_text().strip()) >= 50


def test_a_token_key_is_not_stored_anywhere_readable(alice_token):
    token, raw = alice_token
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert raw not in {str(value) for value in stored.values()}
