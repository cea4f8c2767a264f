"""Schema fuzzing: schemathesis calls every operation of the OpenAPI schema with generated
bodies and parameters; no answer may be a 5xx, and every answer must match the schema.

Seeded and bounded in the suite, long and unseeded under bin/fuzz (tests/support/fuzzing.py)."""

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler

from tests.support.fuzzing import fuzz_settings

API_SCHEMA = "/api/v1/llm/schema/?format=json"
# Generations run for real (on the stand-in): keep each one short.
MAX_TOKENS_IN_FUZZING = 16


schema = schemathesis.openapi.from_wsgi(API_SCHEMA, WSGIHandler())
# A prompt past its maxLength is refused as too large (413), which is a rejection too.
_rejection = schema.config.checks.negative_data_rejection
_rejection.expected_statuses = [*_rejection.expected_statuses, "413"]


@schema.hook("map_body")
def short_generations(context, body):
    options = body.get("options") if isinstance(body, dict) else None
    if isinstance(options, dict):
        for name in ("max_tokens", "num_predict"):
            if isinstance(options.get(name), int) and options[name] > MAX_TOKENS_IN_FUZZING:
                options[name] = MAX_TOKENS_IN_FUZZING
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
