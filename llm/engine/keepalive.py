"""Ollama's keep_alive values: Go durations ("5m", "1h30m", "500ms"), numbers
of seconds, 0 (unload now) and negative (forever).

Plain Python, no Django: the stand-in reads keep_alive with it as Ollama does,
and the gateway checks its own LLM_KEEP_ALIVE and reads clients' values with it.
"""

from __future__ import annotations

import math
import re

DEFAULT_KEEP_ALIVE = 300.0  # Ollama's 5m
FOREVER = math.inf

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)?")


class BadRequest(ValueError):
    """Maps to HTTP 400 {"error": ...}."""


def parse_go_duration(text: str) -> float:
    """Go's time.ParseDuration, in seconds ("1h30m", "1.5s", "500ms", "-1m")."""
    s = text.strip()
    orig = s
    sign = 1.0
    if s[:1] in ("+", "-"):  # not `in "+-"`: "" is in every string
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise BadRequest(f'time: invalid duration "{orig}"')
    total, pos = 0.0, 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m:
            raise BadRequest(f'time: invalid duration "{orig}"')
        if m.group(2) is None:
            raise BadRequest(f'time: missing unit in duration "{orig}"')
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def parse_keep_alive(value) -> float:
    """Seconds to keep a model resident: missing -> 5m, number -> seconds,
    string -> Go duration, negative -> forever, 0 -> unload now."""
    if value is None:
        return DEFAULT_KEEP_ALIVE
    if isinstance(value, bool):
        raise BadRequest("json: cannot unmarshal bool into keep_alive")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = parse_go_duration(value)
    else:
        raise BadRequest(f"json: cannot unmarshal {type(value).__name__} into keep_alive")
    return FOREVER if seconds < 0 else seconds
