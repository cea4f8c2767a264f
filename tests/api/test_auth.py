from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIRequestFactory

from llm.doors.authentication import ApiKeyAuthentication, verified
from llm.models import ApiToken, hash_key

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {"success": False, "error": "Unauthorized", "message": "Invalid or missing Bearer token"}


def test_it_rejects_a_request_without_a_token(anonymous_api):
    response = anonymous_api.get("/api/v1/llm/models")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_rejects_a_wrong_token(anonymous_api, alice_token):
    response = anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="llm_not-a-real-key")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_it_rejects_a_revoked_token(anonymous_api, alice_token):
    token, raw = alice_token
    token.revoke()
    response = anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_it_accepts_x_api_key(anonymous_api, alice_token):
    response = anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=alice_token[1])
    assert response.status_code == 200


def test_it_accepts_a_bearer_token(anonymous_api, alice_token):
    response = anonymous_api.get("/api/v1/llm/models", HTTP_AUTHORIZATION=f"Bearer {alice_token[1]}")
    assert response.status_code == 200


def test_it_rejects_another_authorization_scheme(anonymous_api, alice_token):
    response = anonymous_api.get("/api/v1/llm/models", HTTP_AUTHORIZATION=f"Basic {alice_token[1]}")
    assert response.status_code == 401


def test_it_stores_only_the_hash_of_a_key(alice_token):
    token, raw = alice_token
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hash_key(raw)
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix)


def test_it_records_when_a_token_was_last_used(api, alice_token):
    api.get("/api/v1/llm/models")
    assert ApiToken.objects.get(pk=alice_token[0].pk).last_used_at is not None


def test_the_environment_token_works_as_a_bootstrap_token(anonymous_api, settings):
    settings.LLM_SERVICE_TOKEN = "bootstrap-secret"
    response = anonymous_api.get("/api/v1/llm/models", HTTP_AUTHORIZATION="Bearer bootstrap-secret")
    assert response.status_code == 200
    assert ApiToken.objects.get(is_bootstrap=True).name == "LLM_SERVICE_TOKEN"


def test_a_changed_environment_token_stops_the_old_value(anonymous_api, settings):
    settings.LLM_SERVICE_TOKEN = "old-secret"
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="old-secret").status_code == 200
    settings.LLM_SERVICE_TOKEN = "new-secret"
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="old-secret").status_code == 401
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="new-secret").status_code == 200


def test_a_revoked_bootstrap_token_is_refused(anonymous_api, settings):
    settings.LLM_SERVICE_TOKEN = "bootstrap-secret"
    anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="bootstrap-secret")
    ApiToken.objects.get(is_bootstrap=True).revoke()
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="bootstrap-secret").status_code == 401


def test_no_bootstrap_token_without_the_variable(anonymous_api, settings):
    settings.LLM_SERVICE_TOKEN = ""
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="").status_code == 401
    assert not ApiToken.objects.filter(is_bootstrap=True).exists()


def test_create_token_command_prints_a_working_key_once(anonymous_api, capsys):
    call_command("create_token", "deploy script")
    raw = capsys.readouterr().out.strip()
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 200
    assert not ApiToken.objects.filter(key_hash=raw).exists()


def test_a_users_token_and_its_owner_are_read_in_one_statement(alice_token):
    request = APIRequestFactory().get("/api/v1/llm/models", HTTP_X_API_KEY=alice_token[1])
    ApiKeyAuthentication().authenticate(request)  # never used: this call writes when; the next one need not
    verified.clear()  # as in a process that has not seen this key yet
    with CaptureQueriesContext(connection) as statements:
        user, token = ApiKeyAuthentication().authenticate(request)
    assert (user.username, token.pk) == ("alice", alice_token[0].pk)
    assert len(statements.captured_queries) == 1


def test_a_key_used_again_soon_is_not_looked_up_again(alice_token):
    request = APIRequestFactory().get("/api/v1/llm/models", HTTP_X_API_KEY=alice_token[1])
    ApiKeyAuthentication().authenticate(request)
    with CaptureQueriesContext(connection) as statements:
        user, token = ApiKeyAuthentication().authenticate(request)
    assert (user.username, token.pk) == ("alice", alice_token[0].pk)
    assert statements.captured_queries == []


def test_a_key_is_looked_up_again_after_the_cache_seconds(anonymous_api, alice_token, settings, monkeypatch):
    settings.LLM_TOKEN_CACHE_SECONDS = 5
    token, raw = alice_token
    clock = [1000.0]
    monkeypatch.setattr(verified, "clock", lambda: clock[0])
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(role=ApiToken.Role.ADMIN)  # behind the models' back: no signal
    clock[0] += 5
    anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw)
    assert verified.get(hash_key(raw)).role == ApiToken.Role.ADMIN


def test_a_token_revoked_in_the_admin_is_refused_at_the_next_call(anonymous_api, admin_client, alice_token):
    token, raw = alice_token
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 200
    admin_client.post("/admin/llm/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    response = anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_token_revoked_by_its_model_is_refused_at_the_next_call(anonymous_api, alice_token):
    token, raw = alice_token
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 200
    ApiToken.objects.get(pk=token.pk).revoke()
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 401


def test_a_deleted_token_is_refused_at_the_next_call(anonymous_api, alice_token):
    token, raw = alice_token
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 200
    ApiToken.objects.get(pk=token.pk).delete()
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 401


def test_a_trusted_token_still_expires_on_time(anonymous_api, alice_token, monkeypatch):
    token, raw = alice_token
    token.expires_at = timezone.now() + timedelta(minutes=5)
    token.save(update_fields=["expires_at"])
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 200
    later = timezone.now() + timedelta(minutes=6)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY=raw).status_code == 401


def test_a_changed_environment_token_stops_the_old_value_at_once(anonymous_api, settings):
    settings.LLM_SERVICE_TOKEN = "old-secret"
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="old-secret").status_code == 200
    settings.LLM_SERVICE_TOKEN = "new-secret"  # no save: the bootstrap row is rewritten at its next use
    assert anonymous_api.get("/api/v1/llm/models", HTTP_X_API_KEY="old-secret").status_code == 401


def test_a_wrong_key_is_looked_up_every_time(alice_token):
    request = APIRequestFactory().get("/api/v1/llm/models", HTTP_X_API_KEY="llm_not-a-real-key")
    for _ in range(2):
        with CaptureQueriesContext(connection) as statements, pytest.raises(AuthenticationFailed):
            ApiKeyAuthentication().authenticate(request)
        assert len(statements.captured_queries) == 1
