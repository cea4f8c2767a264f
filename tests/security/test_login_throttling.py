"""Wrong passwords at the dashboard's and the admin's logins are throttled (llm/logins.py)."""

import time

import pytest
from django.test import Client

from llm import logins

pytestmark = pytest.mark.django_db

LOGINS = ["/accounts/login/", "/admin/login/"]


@pytest.fixture(autouse=True)
def limits(settings):
    settings.LLM_LOGIN_MAX_FAILURES = 5
    settings.LLM_LOGIN_LOCKOUT_SECONDS = 900
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # quick guesses


@pytest.fixture
def olga(django_user_model):
    return django_user_model.objects.create_user("olga", password="the right one", is_staff=True)


@pytest.fixture
def oscar(django_user_model):
    return django_user_model.objects.create_user("oscar", password="oscars own", is_staff=True)


def log_in(url, username, password, address="198.51.100.7"):
    """A fresh browser at `address` logs in; returns the response."""
    return Client(REMOTE_ADDR=address).post(url, {"username": username, "password": password})


def logged_in(response):
    return response.status_code == 302


def guess(url, username, times, address="198.51.100.7"):
    for n in range(times):
        assert not logged_in(log_in(url, username, f"guess {n}", address))


@pytest.mark.parametrize("url", LOGINS)
def test_after_five_wrong_passwords_the_right_one_is_refused_with_a_message_saying_why(url, olga):
    guess(url, "olga", 5)
    response = log_in(url, "olga", "the right one")
    assert response.status_code == 200
    assert "Too many failed logins" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()


@pytest.mark.parametrize("url", LOGINS)
def test_four_wrong_passwords_do_not_stop_the_right_one(url, olga):
    guess(url, "olga", 4)
    assert logged_in(log_in(url, "olga", "the right one"))


def test_a_login_that_succeeds_starts_the_count_again(olga):
    guess(LOGINS[0], "olga", 4)
    assert logged_in(log_in(LOGINS[0], "olga", "the right one"))
    guess(LOGINS[0], "olga", 4)
    assert logged_in(log_in(LOGINS[0], "olga", "the right one"))


def test_wrong_passwords_at_both_logins_add_up(olga):
    guess(LOGINS[0], "olga", 3)
    guess(LOGINS[1], "olga", 2)
    assert not logged_in(log_in(LOGINS[0], "olga", "the right one"))


def test_guesses_against_one_name_do_not_lock_out_another_user_at_the_same_address(olga, oscar):
    guess(LOGINS[0], "olga", 40)
    assert logged_in(log_in(LOGINS[0], "oscar", "oscars own"))
    assert logged_in(log_in(LOGINS[1], "oscar", "oscars own"))


def test_guesses_from_one_address_do_not_lock_the_user_out_from_another(olga):
    guess(LOGINS[0], "olga", 40, address="203.0.113.66")
    assert logged_in(log_in(LOGINS[0], "olga", "the right one", address="198.51.100.7"))


def test_the_username_counts_whatever_its_case(olga):
    guess(LOGINS[0], "OLGA", 5)
    assert not logged_in(log_in(LOGINS[0], "olga", "the right one"))


def test_the_lockout_ends_after_its_time(monkeypatch, olga):
    guess(LOGINS[0], "olga", 5)
    assert not logged_in(log_in(LOGINS[0], "olga", "the right one"))
    later = time.time() + 901
    monkeypatch.setattr(logins.time, "time", lambda: later)
    assert logged_in(log_in(LOGINS[0], "olga", "the right one"))
