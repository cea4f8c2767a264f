"""System checks catch bad configuration at start-up."""

from llm.apps import check_settings


def test_a_keep_alive_ollama_cannot_read_is_an_error(settings):
    settings.LLM_KEEP_ALIVE = "-1"
    [error] = check_settings(None)
    assert error.id == "llm.E003"
    assert "missing unit" in error.msg


def test_the_default_settings_pass(settings):
    assert check_settings(None) == []


def test_a_catalog_entry_that_is_not_an_object_is_an_error(settings):
    settings.LLM_CATALOG = {"tiny": "smollm2"}
    [error] = check_settings(None)
    assert error.id == "llm.E001"


def test_wake_ups_over_postgres_on_another_database_are_an_error(settings, monkeypatch):
    settings.LLM_WAKEUPS = "postgres"
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", "django.db.backends.sqlite3")
    [error] = check_settings(None)
    assert error.id == "llm.E004"
    assert "needs DATABASE_URL on PostgreSQL" in error.msg
