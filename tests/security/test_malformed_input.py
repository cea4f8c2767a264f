"""Malformed input on every door: a 4xx in that door's error shape, never a 5xx or an HTML page.

Each case here was once a 500 (or, on PostgreSQL only, a 500 that SQLite hid).
"""

import json

import pytest

from llm.models import GenerationRequest
from tests.support.doors import (
    BODY_CALLS,
    GENERATION_CALLS,
    assert_error_shape,
    call_id,
    error_message,
    send_raw,
)

pytestmark = pytest.mark.django_db(transaction=True)


def poisoned(body, path, value):
    """`body` with `value` put at `path` (a list of keys), as JSON text."""
    body = json.loads(json.dumps(body))
    *parents, last = path
    target = body
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    return body


def text_field(call):
    """Where a call takes its text: prompt, an embed's input, or the content of the first message."""
    body = call[3]
    if "messages" in body:
        return ["messages", 0, "content"]
    return ["input"] if "input" in body else ["prompt"]


def set_text(body, path, value):
    body = json.loads(json.dumps(body))
    if path[0] == "messages":
        body["messages"][0]["content"] = value
    else:
        body[path[0]] = value
    return body


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_five_thousand_nested_brackets_are_a_400(token, call):
    method, path, door, _ = call
    response = send_raw(token, method, path, "[" * 5000)
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_deep_but_well_formed_json_is_a_400_naming_the_depth(token, call):
    method, path, door, valid = call
    deep = "[" * 900 + "]" * 900
    text = json.dumps(valid)[:-1] + f', "deep": {deep}}}'
    response = send_raw(token, method, path, text)
    assert response.status_code == 400
    assert "deep" in error_message(assert_error_shape(response, door), door)


@pytest.mark.parametrize("text", ["[]", '"s"', "1", "null", "true"])
@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_a_body_that_is_not_an_object_is_a_400(token, call, text):
    method, path, door, _ = call
    response = send_raw(token, method, path, text)
    assert response.status_code == 400
    assert "object" in error_message(assert_error_shape(response, door), door)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_a_lone_surrogate_is_a_400(token, call):
    method, path, door, valid = call
    text = json.dumps(valid)[:-1] + ', "x": "a\\ud800b"}'
    response = send_raw(token, method, path, text)
    assert response.status_code == 400
    assert "surrogate" in error_message(assert_error_shape(response, door), door)


@pytest.mark.parametrize("call", GENERATION_CALLS, ids=call_id)
def test_a_lone_surrogate_in_the_prompt_is_a_400_and_nothing_is_queued(token, call):
    method, path, door, valid = call
    text = json.dumps(set_text(valid, text_field(call), "PLACEHOLDER")).replace("PLACEHOLDER", "\\udfff")
    response = send_raw(token, method, path, text)
    assert response.status_code == 400
    assert_error_shape(response, door)
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize("call", GENERATION_CALLS, ids=call_id)
def test_a_nul_in_the_prompt_or_chat_content_is_a_400(token, call):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(set_text(valid, text_field(call), "a\x00b")))
    assert response.status_code == 400
    assert "NUL" in error_message(assert_error_shape(response, door), door)
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize(
    "options", [{"stop": ["a\x00"]}, {"stop": "\x00"}, {"na\x00me": 1}, {"x": {"y": ["\x00"]}}], ids=repr
)
@pytest.mark.parametrize(
    "call", [call for call in GENERATION_CALLS if call[2] != "openai"], ids=call_id
)
def test_a_nul_anywhere_in_the_options_is_a_400(token, call, options):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(dict(valid, options=options)))
    assert response.status_code == 400
    assert_error_shape(response, door)
    assert not GenerationRequest.objects.exists()


@pytest.mark.parametrize("call", [c for c in GENERATION_CALLS if c[2] == "openai"], ids=call_id)
def test_a_nul_in_openais_stop_is_a_400(token, call):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(dict(valid, stop=["\x00"])))
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_a_nul_in_a_key_is_a_400(token, call):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(dict(valid, **{"k\x00": 1})))
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_bytes_that_are_not_utf8_are_a_400(token, call):
    method, path, door, _ = call
    response = send_raw(token, method, path, b'{"model": "\xff\xfe"}')
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_a_number_too_large_for_json_is_a_400(token, call):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(valid)[:-1] + ', "x": 1e999}')
    assert response.status_code == 400
    assert_error_shape(response, door)


@pytest.mark.parametrize("charset", ["rot13", "base64", "nope", "utf-16"])
@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_an_odd_charset_is_refused_or_read_but_never_a_500(token, call, charset):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(valid), content_type=f"application/json; charset={charset}")
    assert response.status_code < 500
    if response.status_code >= 400:
        assert_error_shape(response, door)


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"])
@pytest.mark.parametrize("call", BODY_CALLS, ids=call_id)
def test_an_odd_content_type_is_a_4xx_in_the_doors_shape(token, call, content_type):
    method, path, door, _ = call
    response = send_raw(token, method, path, "[" * 50, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert_error_shape(response, door)


@pytest.mark.parametrize("call", [c for c in GENERATION_CALLS if c[2] == "ollama"], ids=call_id)
def test_options_that_are_not_an_object_are_a_400_on_the_ollama_door(token, call):
    method, path, door, valid = call
    response = send_raw(token, method, path, json.dumps(dict(valid, options="a")))
    assert response.status_code == 400
    assert "options" in error_message(assert_error_shape(response, door), door)
