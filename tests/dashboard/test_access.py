"""The dashboard is for staff: anonymous visitors log in first, everyone else gets 403."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/live/", "/try/", "/requests/req_0000/", "/requests/req_0000/live/"]
ACTIONS = [
    "/models/pull/",
    "/models/pull-all/",
    "/models/switch/",
    "/models/unload/",
    "/pulls/1/cancel/",
    "/queue/clear/",
]


@pytest.mark.parametrize("path", PAGES + ACTIONS)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={path}"


@pytest.mark.parametrize("path", ACTIONS)
def test_an_anonymous_post_changes_nothing_and_asks_to_log_in(client, path):
    response = client.post(path, {"model": "llama3.2:1b"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", PAGES + ACTIONS)
def test_a_user_who_is_not_staff_is_refused(member_client, path):
    assert member_client.get(path).status_code == 403


@pytest.mark.parametrize("path", ACTIONS)
def test_a_post_from_a_user_who_is_not_staff_is_refused(member_client, path):
    assert member_client.post(path, {"model": "llama3.2:1b"}).status_code == 403


def test_an_htmx_refresh_after_the_session_ended_reloads_into_the_login_page(client):
    response = client.get("/live/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/accounts/login/?next=/live/"


@pytest.mark.parametrize("path", ACTIONS)
def test_actions_accept_only_post(staff_client, path):
    assert staff_client.get(path).status_code == 405


def test_the_login_page_is_djangos_usual_one(client):
    response = client.get("/accounts/login/?next=/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="next" value="/"' in response.content


def test_a_staff_member_logs_in_and_lands_on_the_dashboard(client, django_user_model):
    django_user_model.objects.create_user("olga", password="operator", is_staff=True)
    response = client.post("/accounts/login/", {"username": "olga", "password": "operator", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_actions_need_a_csrf_token(django_user_model):
    from django.test import Client

    operator = django_user_model.objects.create_user("olga", password="operator", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post("/queue/clear/").status_code == 403
