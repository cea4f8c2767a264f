"""Fixtures for the dashboard's tests through Django's test client."""

import pytest


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    """No collectstatic in unit tests: `{% static %}` must not need the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def staff_client(client, django_user_model):
    """A client signed in as a staff member who is not a superuser."""
    operator = django_user_model.objects.create_user("olga", password="operator", is_staff=True)
    client.force_login(operator)
    return client


@pytest.fixture
def member_client(client, alice):
    """A client signed in as Alice, who is not staff."""
    client.force_login(alice)
    return client


def messages_of(response):
    return [str(message) for message in response.context["messages"]]
