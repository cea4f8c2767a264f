"""The web server's middleware (llm/asyncmiddleware.py): the doors skip what only pages need, the
pages keep it all, and both keep the security headers. Through the ASGI application itself."""

import httpx
import pytest
from asgiref.sync import async_to_sync

from llm import asyncmiddleware
from llmsite.asgi import PooledASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def call(settings):
    """call(method, path, **httpx_kwargs) through the web server's ASGI application."""
    settings.STORAGES = {  # no collectstatic in unit tests
        **settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    app = PooledASGIHandler(threads=2)

    async def fetch(method, path, **kwargs):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, path, **kwargs)

    return lambda method, path, **kwargs: async_to_sync(fetch)(method, path, **kwargs)


@pytest.fixture
def get(call):
    return lambda path, **kwargs: call("GET", path, **kwargs)


def test_the_web_server_runs_the_swapped_middleware_in_place_of_djangos(settings):
    swapped = asyncmiddleware.swapped(settings.MIDDLEWARE)
    assert len(swapped) == len(settings.MIDDLEWARE)
    assert "llm.asyncmiddleware.PageSessions" in swapped and "llm.asyncmiddleware.InlineSecurity" in swapped
    assert not any(path.startswith("django.") for path in swapped)


def test_a_door_answers_with_the_security_headers_and_no_session_or_csrf_cookie(get, alice_token):
    response = get("/api/v1/llm/status", headers={"X-API-Key": alice_token[1]})
    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "set-cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_a_door_still_refuses_a_call_without_a_token_in_its_own_shape(get):
    response = get("/v1/models")
    assert response.status_code == 401
    assert "error" in response.json()


def test_the_login_page_still_gets_its_csrf_cookie_and_security_headers(get):
    response = get("/accounts/login/")
    assert response.status_code == 200
    assert "csrftoken" in response.headers.get("set-cookie", "")
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_login_posted_without_its_csrf_token_is_still_refused(call):
    response = call("POST", "/accounts/login/", data={"username": "alice", "password": "wonderland"})
    assert response.status_code == 403


def test_the_dashboard_still_sends_a_visitor_without_a_session_to_log_in(get):
    response = get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/")
