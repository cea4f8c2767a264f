from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "LLM gateway"

    def ready(self):
        checks.register(check_settings)


def check_settings(app_configs, **kwargs):
    """Bad configuration found at start-up, not at the first request."""
    from llm import catalog

    errors = []
    if settings.LLM_CATALOG is not None:
        errors += [checks.Error(problem, id="llm.E001") for problem in catalog.validate(settings.LLM_CATALOG)]
    q = settings.Q_CLUSTER
    if q["timeout"] >= q["retry"]:
        errors.append(
            checks.Error(
                "Q_CLUSTER timeout must be below retry, or django-q2 runs a long task twice", id="llm.E002"
            )
        )
    if q.get("workers", 1) < 2:
        errors.append(
            checks.Warning("With one worker process, pulls wait behind generations", id="llm.W001")
        )
    return errors
