"""Calls the stand-in's own tests make (test_endpoints.py, test_residency.py, test_faults.py, test_control.py)."""

from __future__ import annotations

import json
from datetime import datetime


def ps_names(standin, http):
    return [m["name"] for m in http.get(standin.url + "/api/ps").json()["models"]]


def generate(standin, http, model="llama3.2:1b", prompt="why is the sky blue", live=False, **body):
    """POST /api/generate; ``body`` goes into the JSON, ``live`` reads the reply incrementally."""
    return http.post(standin.url + "/api/generate", json={"model": model, "prompt": prompt, **body}, stream=live)


def stream_lines(response):
    return [json.loads(line) for line in response.iter_lines() if line]


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
