"""The one JSON parser of every door (our API, the Ollama and the OpenAI doors).

A request body is read here, once, and refused with a 400 (rendered in the door's
own error shape by its exception handler) unless it is what every view below can
store and pass on without surprises:

- well-formed JSON in a text encoding (UTF-8 unless the Content-Type says otherwise);
- a JSON object at the top (every endpoint takes an object; `[]` or `"s"` is a client's bug);
- nested at most MAX_DEPTH levels (5,000 `[` would exhaust Python's recursion);
- no NUL (\\u0000) in any key or string: PostgreSQL cannot store one in text or jsonb;
- no lone surrogate (\\ud800): it is not Unicode, and no database or encoder takes it;
- finite numbers of at most 40 digits: `1e999` is infinity, which jsonb refuses (ranges of
  known fields are the serializers' business).
"""

import codecs
import json
import math

from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType

MAX_DEPTH = 64
MAX_DIGITS = 40


class MalformedBody(ParseError):
    """A body that is JSON-shaped but not acceptable; the message says why."""


class SafeJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        raw = stream.read() if stream is not None else b""
        return check_body(loads(raw, encoding))


class AnyJSONParser(SafeJSONParser):
    """Ollama reads the body as JSON whatever the Content-Type (curl's -d sends a form type)."""

    media_type = "*/*"


def loads(raw: bytes, encoding: str = "utf-8"):
    """Bytes to a JSON value, or MalformedBody saying what is wrong with them."""
    try:
        text_encoding = codecs.lookup(encoding)._is_text_encoding
    except LookupError:
        text_encoding = False
    if not text_encoding:
        raise UnsupportedMediaType(f"charset={encoding}")
    try:
        text = raw.decode(encoding)
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise MalformedBody(f"The JSON body is nested too deep (at most {MAX_DEPTH} levels)") from None
    except MalformedBody:
        raise
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedBody("Malformed JSON in request body") from None


def check_body(value):
    """The parsed body, if it is an object our views can store and pass on (see the module's docstring)."""
    if not isinstance(value, dict):
        raise MalformedBody("The request body must be a JSON object")
    check_value(value)
    return value


def check_value(value) -> None:
    """MalformedBody unless `value` (parsed JSON) is shallow enough and its strings are clean text.

    Iterative, so that no depth makes it recurse.
    """
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise MalformedBody(f"The JSON body is nested too deep (at most {MAX_DEPTH} levels)")
        if isinstance(item, dict):
            for key, inner in item.items():
                _check_text(key)
                pending.append((inner, depth + 1))
        else:
            pending.extend((inner, depth + 1) for inner in item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise MalformedBody("NUL characters (\\u0000) are not allowed in JSON strings or keys")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedBody("A JSON string holds a lone surrogate (such as \\ud800): it is not valid Unicode") from None


def _refuse_constant(name):
    raise MalformedBody(f"{name} is not a JSON number")


def _float(text):
    number = float(text)
    if not math.isfinite(number):
        raise MalformedBody(f"The number {text[:20]} is too large")
    return number


def _int(text):
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise MalformedBody(f"The number {text[:20]}... is too large")
    return int(text)
