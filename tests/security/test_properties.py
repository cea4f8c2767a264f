"""Property tests for what an OpenAPI schema cannot say: deep nesting, lone surrogates, NUL, bodies
that are not objects, odd Content-Types and arbitrary bytes, on every call of every door that
reads a body. The answer is always a 4xx in the door's error shape, never a 5xx.

Seeded and bounded in the suite (tests/support/fuzzing.py); bin/fuzz runs them long and unseeded.
"""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llm.models import GenerationRequest
from tests.support.doors import BODY_CALLS, assert_error_shape, call_id, send_raw
from tests.support.fuzzing import fuzz_settings

pytestmark = pytest.mark.django_db(transaction=True)


# --- What to poison a valid body with ----------------------------------------------

nul_text = st.tuples(st.text(max_size=5), st.text(max_size=5)).map(lambda parts: parts[0] + "\x00" + parts[1])
surrogate_text = st.tuples(st.text(max_size=5), st.characters(categories=["Cs"]), st.text(max_size=5)).map("".join)
bad_text = st.one_of(nul_text, surrogate_text)


def deep(depth, opener):
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * depth + "1" + closer * depth


deep_json = st.builds(deep, st.integers(65, 6000), st.sampled_from(["[", '{"a":']))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
not_objects = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)


def with_text(valid, place, value, as_key):
    """The valid body (JSON text) with `value` put at one of its places, as a value or a key."""
    body = json.loads(json.dumps(valid))
    target = {"top": body, "options": body.setdefault("options", {})}.get(place)
    if place == "message" and "messages" in body:
        target = body["messages"][0]
    if target is None:
        target = body
    if as_key:
        target[value] = 1
    else:
        target["content" if place == "message" else "prompt" if "prompt" in target else "x"] = value
    return json.dumps(body)  # ensure_ascii: NUL and lone surrogates become \u escapes, as clients send them


def with_raw(valid, raw):
    """The valid body with a raw JSON fragment as the value of a new key."""
    return json.dumps(valid)[:-1] + f', "poison": {raw}}}'


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
@fuzz_settings(examples=12)
@given(value=bad_text, place=st.sampled_from(["top", "options", "message"]), as_key=st.booleans())
def test_nul_or_a_lone_surrogate_anywhere_is_a_400(token, call, value, place, as_key):
    method, path, door, valid = call
    response = send_raw(token, method, path, with_text(valid, place, value, as_key))
    assert response.status_code == 400
    assert_error_shape(response, door)
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
@fuzz_settings(examples=6)
@given(raw=deep_json, alone=st.booleans())
def test_nesting_deeper_than_the_limit_is_a_400(token, call, raw, alone):
    method, path, door, valid = call
    response = send_raw(token, method, path, raw if alone else with_raw(valid, raw))
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
@fuzz_settings(examples=8)
@given(value=not_objects)
def test_a_body_that_is_not_an_object_is_a_400(token, call, value):
    method, path, door, _ = call
    response = send_raw(token, method, path, json.dumps(value))
    assert response.status_code == 400
    assert_error_shape(response, door)


content_types = st.one_of(
    st.sampled_from([
        "text/plain", "application/xml", "multipart/form-data; boundary=zz", "application/x-www-form-urlencoded",
        "application/json; charset=utf-16", "application/json; charset=rot13", "application/json; charset=latin-1",
        "application/json; charset=bogus", "application/*", "*/*", "", ";;;",
    ]),
    st.text(max_size=30).filter(lambda text: "\n" not in text and "\r" not in text),
)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
@fuzz_settings(examples=10)
@given(body=st.one_of(st.binary(max_size=200), not_objects.map(json.dumps).map(str.encode)), content_type=content_types)
def test_any_bytes_with_any_content_type_are_never_a_server_error(token, call, body, content_type):
    method, path, door, _ = call
    response = send_raw(token, method, path, body, content_type=content_type)
    assert response.status_code < 500
    if response.status_code >= 400:  # b"{}" is a fine body for some calls
        assert_error_shape(response, door)
