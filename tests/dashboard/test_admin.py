"""Django's admin: API tokens (the key shown once), read-only requests and pulls, django-q2's pages."""

import re

import pytest
from django.utils import timezone

from llm.models import ApiToken, GenerationRequest, ModelPull, hash_key

pytestmark = pytest.mark.django_db


def create_token(admin_client, name="ci deploys"):
    return admin_client.post(
        "/admin/llm/apitoken/add/",
        {"name": name, "owner": "", "revoked_at_0": "", "revoked_at_1": ""},
        follow=True,
    )


def shown_key(response):
    """The key on the page that answers the token's creation."""
    return re.search(r'<code id="new-key"[^>]*>(llm_[\w-]+)</code>', response.content.decode()).group(1)


def test_creating_a_token_shows_its_key_once(admin_client):
    response = create_token(admin_client)
    raw = shown_key(response)
    token = ApiToken.objects.get(name="ci deploys")
    assert token.key_hash == hash_key(raw) and raw.startswith(token.prefix)
    assert ApiToken.objects.authenticate(raw) == token
    assert raw not in admin_client.get("/admin/llm/apitoken/").content.decode()
    assert raw not in admin_client.get(f"/admin/llm/apitoken/{token.pk}/change/").content.decode()


def test_the_new_key_is_in_the_answer_itself_and_in_no_cookie(admin_client):
    response = create_token(admin_client)
    assert response.redirect_chain == []  # no redirect: the key never travels to a next page
    raw = shown_key(response)
    cookies = {**admin_client.cookies, **response.cookies}
    assert cookies and not any(raw in morsel.value or raw in morsel.OutputString() for morsel in cookies.values())
    assert "messages" not in response.cookies
    assert "no-store" in response["Cache-Control"]
    later = admin_client.get("/admin/llm/apitoken/")
    assert raw not in later.content.decode() and not any(raw in morsel.value for morsel in later.cookies.values())


def test_the_database_never_holds_the_raw_key(admin_client):
    raw = shown_key(create_token(admin_client))
    token = ApiToken.objects.get()
    assert raw not in {token.name, token.prefix, token.key_hash}


def test_a_token_created_with_a_role_has_it(admin_client):
    admin_client.post(
        "/admin/llm/apitoken/add/",
        {"name": "ops", "role": "admin", "owner": "", "revoked_at_0": "", "revoked_at_1": ""},
    )
    assert ApiToken.objects.get(name="ops").role == "admin"


def test_editing_a_token_keeps_its_key(admin_client):
    token, raw = ApiToken.issue("old name")
    response = admin_client.post(
        f"/admin/llm/apitoken/{token.pk}/change/",
        {"name": "new name", "owner": "", "revoked_at_0": "", "revoked_at_1": ""},
        follow=True,
    )
    assert "new-key" not in response.content.decode()
    assert ApiToken.objects.authenticate(raw).name == "new name"


def test_the_token_list_shows_name_owner_role_created_last_used_state_and_usage(admin_client, alice_token):
    html = admin_client.get("/admin/llm/apitoken/").content.decode()
    for column in ("Name", "Owner", "Role", "Created at", "Last used at", "State", "Usage"):
        assert column in html
    assert "alice&#x27;s script" in html


def test_the_revoke_action_revokes_tokens(admin_client, alice_token):
    token, raw = alice_token
    admin_client.post("/admin/llm/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.objects.authenticate(raw) is None


def test_requests_are_listed_read_only_with_filters_and_search(admin_client):
    generation = GenerationRequest.objects.create(model="llama3.2:1b", prompt="needle in a haystack")
    GenerationRequest.objects.create(model="phi4:mini", prompt="other", status="done")
    listing = admin_client.get("/admin/llm/generationrequest/?status__exact=queued&q=needle")
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == [generation]
    assert admin_client.get("/admin/llm/generationrequest/add/").status_code == 403
    change = admin_client.get(f"/admin/llm/generationrequest/{generation.pk}/change/")
    assert change.status_code == 200 and b'name="_save"' not in change.content


def test_embeds_are_listed_apart_with_the_kind_filter(admin_client):
    GenerationRequest.objects.create(model="llama3.2:1b", prompt="a generation")
    embed = GenerationRequest.objects.create(model="llama3.2:1b", kind="embed", input=["a text"], embeddings=[[0.6, 0.8]])
    listing = admin_client.get("/admin/llm/generationrequest/?kind__exact=embed")
    assert list(listing.context["cl"].result_list) == [embed]
    assert admin_client.get(f"/admin/llm/generationrequest/{embed.pk}/change/").status_code == 200


def test_pulls_are_listed_read_only_with_filters_and_search(admin_client):
    pull = ModelPull.objects.create(model="gemma3:4b", tag="gemma3:4b", status="failed", error="disk full",
                                    finished_at=timezone.now())
    ModelPull.objects.create(model="qwen3:4b", tag="qwen3:4b")
    listing = admin_client.get("/admin/llm/modelpull/?status__exact=failed&q=disk")
    assert list(listing.context["cl"].result_list) == [pull]
    assert admin_client.get("/admin/llm/modelpull/add/").status_code == 403


@pytest.mark.parametrize("model", ["schedule", "success", "failure", "ormq"])
def test_django_q2s_admin_pages_are_there(admin_client, model):
    assert admin_client.get(f"/admin/django_q/{model}/").status_code == 200
