"""Roles: every call refuses a missing, wrong, revoked or expired token (401), admin calls refuse
a generate token (403), and a token reads only its own requests."""

import re

import pytest
from django.urls import URLPattern, URLResolver

from llm import audit
from llm.dashboard import urls as dashboard_urls
from llm.models import AuditEntry, GenerationRequest, ModelPull
from tests.security.conftest import ADMIN_CALLS, API, CALLS, call_id, client_with, send

pytestmark = pytest.mark.django_db

UNAUTHORIZED = {"success": False, "error": "Unauthorized", "message": "Invalid or missing Bearer token"}
FORBIDDEN = {
    "success": False,
    "error": "Forbidden",
    "message": "This needs an admin token; this token's role is generate",
}


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_a_call_without_a_token_is_401(anonymous_api, call):
    response = send(anonymous_api, call)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_a_call_with_a_wrong_token_is_401(alice_token, call):
    response = send(client_with("llm_not-a-real-key"), call)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_a_call_with_a_revoked_token_is_401(revoked_token, call):
    response = send(client_with(revoked_token[1]), call)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("call", CALLS, ids=call_id)
def test_a_call_with_an_expired_token_is_401(expired_token, call):
    response = send(client_with(expired_token[1]), call)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


@pytest.mark.parametrize("call", ADMIN_CALLS, ids=call_id)
def test_an_admin_call_with_a_generate_token_is_403_and_does_nothing(api, call):
    response = send(api, call)
    assert response.status_code == 403
    assert response.json() == FORBIDDEN
    assert not ModelPull.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("call", ADMIN_CALLS, ids=call_id)
def test_an_expired_admin_token_is_401_not_403(admin_token, call):
    token, raw = admin_token
    token.expires_at = token.created_at
    token.save(update_fields=["expires_at"])
    assert send(client_with(raw), call).status_code == 401


def test_an_admin_token_may_do_the_admin_calls(admin_api, standin, idle_worker, settings):
    settings.LLM_PULL_WAIT_SECONDS = 0
    assert admin_api.post(f"{API}/queue/clear").status_code == 200
    assert admin_api.get(f"{API}/pulls").status_code == 200
    assert admin_api.post(f"{API}/pull", {"model": "llama3.2:1b"}, format="json").status_code in (200, 202)


def test_a_generate_token_may_generate_and_read_status_and_models(api, standin, idle_worker):
    assert api.post(f"{API}/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}, format="json").status_code == 202
    assert api.get(f"{API}/status").status_code == 200
    assert api.get(f"{API}/models").status_code == 200


# --- Whose requests ---------------------------------------------------------------


@pytest.fixture
def alices_request(alice_token):
    return GenerationRequest.objects.create(token=alice_token[0], model="llama3.2:1b", prompt="mine")


def test_a_token_reads_its_own_request(api, alices_request):
    response = api.get(f"{API}/requests/{alices_request.request_id}")
    assert response.status_code == 200 and response.json()["request_id"] == alices_request.request_id


def test_a_token_cancels_its_own_request(api, alices_request):
    assert api.delete(f"{API}/requests/{alices_request.request_id}").status_code == 200
    alices_request.refresh_from_db()
    assert alices_request.status == "cancelled"


def test_another_tokens_request_is_not_found(bob_token, alices_request):
    response = client_with(bob_token[1]).get(f"{API}/requests/{alices_request.request_id}")
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "error": "Not Found",
        "message": f"No request with id {alices_request.request_id}",
    }


def test_another_tokens_request_cannot_be_cancelled(bob_token, alices_request):
    assert client_with(bob_token[1]).delete(f"{API}/requests/{alices_request.request_id}").status_code == 404
    alices_request.refresh_from_db()
    assert alices_request.status == "queued"


def test_even_an_admin_token_reads_only_its_own_requests(admin_api, alices_request):
    assert admin_api.get(f"{API}/requests/{alices_request.request_id}").status_code == 404


# --- The dashboard: staff only, every page and action --------------------------------


def dashboard_paths():
    """Every URL of the dashboard's urlconf, with sample values in its parameters."""
    samples = {"str": "req_0000", "int": "1", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000000"}
    paths = []
    for pattern in dashboard_urls.urlpatterns:
        assert isinstance(pattern, URLPattern) and not isinstance(pattern, URLResolver)
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda match: samples[match.group(1) or "str"], str(pattern.pattern))
        paths.append("/" + route)
    return paths


@pytest.mark.parametrize("path", dashboard_paths())
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_dashboard_url_sends_an_anonymous_visitor_to_log_in(client, path, method):
    response = getattr(client, method)(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", dashboard_paths())
@pytest.mark.parametrize("method", ["get", "post"])
def test_every_dashboard_url_refuses_a_user_who_is_not_staff(client, django_user_model, path, method):
    client.force_login(django_user_model.objects.create_user("mallory", password="not-staff"))
    assert getattr(client, method)(path).status_code == 403
    assert not AuditEntry.objects.exclude(action=audit.Action.MODEL_LOAD).exists()


def test_the_audit_log_in_the_admin_refuses_a_user_who_is_not_staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("mallory", password="not-staff"))
    response = client.get("/admin/llm/auditentry/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
