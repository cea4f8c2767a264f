"""Schema fuzzing: schemathesis calls every operation of the OpenAPI schema with generated
bodies and parameters; no answer may be a 5xx, and every answer must match the schema.

Seeded and bounded in the suite, long and unseeded under bin/fuzz (tests/support/fuzzing.py)."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler

from llm.doors.serializers import MAX_TOKENS
from tests.support.fuzzing import fuzz_settings

API_SCHEMA = "/api/v1/llm/schema/?format=json"  # all three doors: our API, /ollama/ and /v1/
# Generations run for real (on the stand-in): keep each one short.
MAX_TOKENS_IN_FUZZING = 16


schema = schemathesis.openapi.from_wsgi(API_SCHEMA, WSGIHandler())
# A prompt past its maxLength is refused as too large (413), which is a rejection too.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


def _without_nul(value):
    """NUL is refused everywhere (a 400 the schema cannot say): tests/security/test_properties.py tests it."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


@schema.hook("map_body")
def short_generations(context, body):
    body = _without_nul(body)
    options = body.get("options") if isinstance(body, dict) else None
    # Ollama's options, and OpenAI's fields of the same meaning.
    for fields in (options, body):
        if isinstance(fields, dict):
            for name in ("max_tokens", "num_predict", "max_completion_tokens"):
                # Only values the schema allows: one past its maximum must still be refused.
                if isinstance(fields.get(name), int) and MAX_TOKENS_IN_FUZZING < fields[name] <= MAX_TOKENS:
                    fields[name] = MAX_TOKENS_IN_FUZZING
    return body


@pytest.fixture
def quick_standin(standin, settings):
    standin.configure(token_seconds=0, load_seconds=0.01, pull_seconds=0.02)
    settings.LLM_PULL_WAIT_SECONDS = 5
    settings.LLM_GENERATE_WAIT_SECONDS = 5
    return standin


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@fuzz_settings(examples=15)
def test_every_operation_answers_as_its_schema_says(case, admin_token, quick_standin, inline_worker):
    case.call_and_validate(headers={"X-API-Key": admin_token[1]})
