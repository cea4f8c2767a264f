"""The audit log: admin actions through the API and token changes in the admin, with who and when."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from llm import audit
from llm.models import ApiToken, AuditEntry
from tests.security.conftest import API

pytestmark = pytest.mark.django_db

A = audit.Action


def entries(*actions):
    return list(AuditEntry.objects.filter(action__in=actions).order_by("created_at", "pk"))


def recent(entry):
    return timezone.now() - timedelta(minutes=1) < entry.created_at <= timezone.now()


# --- Through the API ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_switch_is_recorded_with_the_token_that_asked(admin_api, admin_token, standin):
    admin_api.post(f"{API}/switch", {"model": "phi4:mini"}, format="json")
    [entry] = entries(A.SWITCH)
    assert (entry.target, entry.token, entry.user) == ("phi4:mini", admin_token[0], None)
    assert recent(entry)


@pytest.mark.django_db(transaction=True)
def test_a_failed_switch_is_not_recorded_as_one(admin_api, standin):
    standin.configure(installed=["llama3.2:1b"])
    assert admin_api.post(f"{API}/switch", {"model": "gemma3:4b"}, format="json").status_code == 409
    assert entries(A.SWITCH) == []


def test_a_pull_is_recorded(admin_api, admin_token, standin, idle_worker, settings):
    settings.LLM_PULL_WAIT_SECONDS = 0
    admin_api.post(f"{API}/pull", {"model": "gemma3:4b"}, format="json")
    [entry] = entries(A.PULL)
    assert (entry.target, entry.token) == ("gemma3:4b", admin_token[0])


def test_a_pull_of_everything_is_recorded_with_the_models(admin_api, admin_token, standin, idle_worker, settings):
    settings.LLM_PULL_WAIT_SECONDS = 0
    admin_api.post(f"{API}/pull-all")
    [entry] = entries(A.PULL_ALL)
    assert entry.token == admin_token[0]
    assert "phi4:mini" in entry.target and "gemma3:4b" in entry.target


def test_clearing_the_queue_is_recorded_with_how_many(api, admin_api, admin_token, idle_worker):
    for _ in range(2):
        api.post(f"{API}/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}, format="json")
    admin_api.post(f"{API}/queue/clear")
    [entry] = entries(A.QUEUE_CLEAR)
    assert entry.token == admin_token[0] and entry.detail == {"cleared": 2}


@pytest.mark.django_db(transaction=True)
def test_working_the_queue_is_recorded_with_how_many_ran(api, admin_api, admin_token, standin, idle_worker):
    api.post(f"{API}/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}, format="json")
    admin_api.post(f"{API}/queue/process", {"max_iterations": 5}, format="json")
    [entry] = entries(A.QUEUE_PROCESS)
    assert entry.token == admin_token[0] and entry.detail == {"processed": 1}


def test_what_a_generate_token_may_do_leaves_no_entry(api, idle_worker):
    response = api.post(f"{API}/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": False}, format="json")
    api.delete(f"{API}/requests/{response.json()['request_id']}")
    api.get(f"{API}/models")
    assert not AuditEntry.objects.exists()


# --- Tokens, in the admin and on the command line ------------------------------------------


def post_token(admin_client, url, **fields):
    data = {"name": "ci deploys", "role": "generate", "owner": "", "expires_at_0": "", "expires_at_1": "",
            "revoked_at_0": "", "revoked_at_1": "", **fields}
    return admin_client.post(url, data, follow=True)


def test_creating_a_token_in_the_admin_is_recorded_with_the_user(admin_client, admin_user):
    response = post_token(admin_client, "/admin/llm/apitoken/add/", role="admin")
    raw = re.search(r'id="new-key"[^>]*>(llm_[\w-]+)<', response.content.decode()).group(1)
    [entry] = entries(A.TOKEN_CREATE)
    token = ApiToken.objects.get(name="ci deploys")
    assert (entry.user, entry.token, entry.detail) == (admin_user, None, {"token_id": token.pk, "role": "admin"})
    assert entry.target == str(token) and raw not in entry.target


def test_changing_a_tokens_role_is_recorded_with_what_changed(admin_client, admin_user, alice_token):
    token, _ = alice_token
    post_token(admin_client, f"/admin/llm/apitoken/{token.pk}/change/", name=token.name, owner=token.owner_id, role="admin")
    [entry] = entries(A.TOKEN_CHANGE)
    assert entry.user == admin_user and entry.detail == {"token_id": token.pk, "changed": ["role"]}
    assert ApiToken.objects.get(pk=token.pk).is_admin


def test_saving_a_token_unchanged_records_nothing(admin_client, alice_token):
    token, _ = alice_token
    post_token(admin_client, f"/admin/llm/apitoken/{token.pk}/change/", name=token.name, owner=token.owner_id)
    assert entries(A.TOKEN_CHANGE, A.TOKEN_REVOKE) == []


def test_revoking_a_token_in_its_form_is_recorded_as_a_revoke(admin_client, admin_user, alice_token):
    token, _ = alice_token
    post_token(admin_client, f"/admin/llm/apitoken/{token.pk}/change/", name=token.name, owner=token.owner_id,
               revoked_at_0="2026-01-01", revoked_at_1="00:00:00")
    [entry] = entries(A.TOKEN_REVOKE)
    assert entry.user == admin_user and entry.detail["changed"] == ["revoked_at"]


def test_the_revoke_action_is_recorded_per_token(admin_client, admin_user, alice_token, bob_token):
    ids = [alice_token[0].pk, bob_token[0].pk]
    admin_client.post("/admin/llm/apitoken/", {"action": "revoke", "_selected_action": ids})
    revoked = entries(A.TOKEN_REVOKE)
    assert sorted(entry.detail["token_id"] for entry in revoked) == sorted(ids)
    assert {entry.user for entry in revoked} == {admin_user}


def test_deleting_a_token_is_recorded(admin_client, admin_user, alice_token):
    token, _ = alice_token
    admin_client.post(f"/admin/llm/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    [entry] = entries(A.TOKEN_DELETE)
    assert entry.user == admin_user and entry.target == str(token)


def test_create_token_on_the_command_line_is_recorded(capsys):
    call_command("create_token", "nightly job", "--role", "admin")
    raw = capsys.readouterr().out.strip()
    [entry] = entries(A.TOKEN_CREATE)
    assert entry.detail["role"] == "admin" and entry.detail["via"] == "create_token"
    assert raw not in entry.target and raw not in str(entry.detail)


# --- Reading it -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_audit_log_in_the_admin_shows_who_did_what(admin_client, admin_api, standin):
    admin_api.post(f"{API}/switch", {"model": "phi4:mini"}, format="json")
    audit.record(A.TOKEN_CHANGE, "a token", user=None)
    html = admin_client.get("/admin/llm/auditentry/").content.decode()
    assert "token ops script" in html  # the switch, by the admin token
    assert "the service" in html  # the model load it caused
    assert "phi4:mini" in html and "model.load" in html


def test_the_audit_log_cannot_be_edited_or_deleted_in_the_admin(admin_client):
    entry = audit.record(A.SWITCH, "phi4:mini")
    assert admin_client.get("/admin/llm/auditentry/add/").status_code == 403
    change = admin_client.get(f"/admin/llm/auditentry/{entry.pk}/change/")
    assert change.status_code == 200 and b'name="_save"' not in change.content
    assert admin_client.post(f"/admin/llm/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_token_list_shows_role_expiry_and_usage(admin_client, alice_token):
    token, _ = alice_token
    ApiToken.objects.filter(pk=token.pk).update(request_count=7, prompt_tokens=120, generated_tokens=345)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() + timedelta(days=30))
    html = admin_client.get("/admin/llm/apitoken/").content.decode()
    for column in ("Role", "State", "Usage"):
        assert column in html
    assert ">expires " in html
    # the list keeps to narrow columns; tokens in and out are on the usage page it links to
    assert f'<a href="/usage/#token-{token.pk}">7 requests</a>' in html


def test_usage_is_read_only_in_the_token_form(admin_client, alice_token):
    token, _ = alice_token
    html = admin_client.get(f"/admin/llm/apitoken/{token.pk}/change/").content.decode()
    assert 'name="role"' in html and 'name="expires_at_0"' in html
    assert 'name="request_count"' not in html and "Usage (generations finished)" in html


@pytest.mark.django_db(transaction=True)
def test_a_model_load_is_recorded_without_anyone_behind_it(admin_api, standin):
    # The engine records it where it loads (llm/engine/residency.py), whoever asked for the load.
    for model in ("gemma3:4b", "phi4:mini"):
        assert admin_api.post(f"{API}/switch", {"model": model}, format="json").status_code == 200
    first, second = entries(A.MODEL_LOAD)
    assert (second.target, second.token, second.user) == ("phi4:mini", None, None)
    assert second.detail["swap"] is True and second.detail["unloaded"] == ["gemma3:4b"]
    assert first.detail["swap"] is False and second.detail["seconds"] >= 0.05  # the stand-in's load time
