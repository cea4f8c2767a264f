"""The stand-in's resident models: loading, keep-alive expiry and the RAM budget (plain pytest, no Django).

One stand-in runs per module (see conftest.py) with short timings; it is reset
to its start-up state before each test.  Nothing sleeps and hopes: anything
that happens later is polled for with a deadline.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pytest
import requests

from llm.engine.keepalive import FOREVER, BadRequest, parse_keep_alive
from tests.standin.calls import generate, parse_time, ps_names, stream_lines
from tests.support.service import poll


# ------------------------------------------------------ loading and expiry
@pytest.mark.parametrize("endpoint", ["generate", "chat"])
def test_an_empty_request_loads_the_model_and_keep_alive_0_unloads_it(standin, http, endpoint):
    empty = {"prompt": ""} if endpoint == "generate" else {"messages": []}
    url = f"{standin.url}/api/{endpoint}"
    body = http.post(url, json={"model": "gemma3:4b", **empty}).json()
    assert body["done"] is True and body["done_reason"] == "load"
    assert ps_names(standin, http) == ["gemma3:4b"]
    body = http.post(url, json={"model": "gemma3:4b", "keep_alive": 0, **empty}).json()
    assert body["done"] is True and body["done_reason"] == "unload"
    assert ps_names(standin, http) == []
    counters = standin.counters()
    assert (counters["loads"], counters["unloads"], counters["generations"]) == (1, 1, 0)


def test_keep_alive_0_on_a_generation_unloads_right_after_the_reply(standin, http):
    with generate(standin, http, keep_alive=0, live=True) as r:
        lines = stream_lines(r)
    assert lines[-1]["done"] is True
    assert ps_names(standin, http) == []
    assert standin.counters()["unloads"] == 1


def test_keep_alive_of_one_second_expires(standin, http):
    generate(standin, http, keep_alive="1s", stream=False).raise_for_status()
    assert ps_names(standin, http) == ["llama3.2:1b"]
    started = time.monotonic()
    poll(lambda: ps_names(standin, http) == [], timeout=5, interval=0.01, message="model expiry")
    assert time.monotonic() - started > 0.5
    assert standin.wait_for(lambda c: c["unloads"] == 1)["resident"] == []


@pytest.mark.parametrize("keep_alive, seconds", [("30s", 30), ("5m", 300), ("1h", 3600), (90, 90), ("1m30s", 90)])
def test_keep_alive_accepts_go_durations_and_seconds(standin, http, keep_alive, seconds):
    generate(standin, http, prompt="", keep_alive=keep_alive).raise_for_status()
    (model,) = http.get(standin.url + "/api/ps").json()["models"]
    remaining = (parse_time(model["expires_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert seconds - 5 < remaining <= seconds


def test_a_negative_keep_alive_keeps_the_model_forever(standin, http):
    generate(standin, http, prompt="", keep_alive=-1).raise_for_status()
    (model,) = http.get(standin.url + "/api/ps").json()["models"]
    assert parse_time(model["expires_at"]).year > 2200


def test_a_malformed_keep_alive_is_a_400(standin, http):
    r = generate(standin, http, keep_alive="soon")
    assert r.status_code == 400 and "invalid duration" in r.json()["error"]


def test_keep_alive_parsing_rules():
    assert parse_keep_alive(None) == 300
    assert parse_keep_alive(0) == 0 and parse_keep_alive("0") == 0
    assert parse_keep_alive("500ms") == 0.5 and parse_keep_alive(2.5) == 2.5
    assert parse_keep_alive(-1) == FOREVER and parse_keep_alive("-1m") == FOREVER
    with pytest.raises(BadRequest, match="missing unit"):
        parse_keep_alive("300")


# ------------------------------------------------------------- RAM budget
def test_loading_a_second_large_model_over_the_budget_fails_with_ollamas_memory_error(standin, http):
    generate(standin, http, model="gemma3:4b", stream=False).raise_for_status()
    r = generate(standin, http, model="qwen3:4b")
    assert r.status_code == 500
    assert r.json() == {"error": "model requires more system memory (2.3 GiB) than is available (911.9 MiB)"}
    assert ps_names(standin, http) == ["gemma3:4b"]  # no automatic eviction
    counters = standin.counters()
    assert counters["load_failures"] == 1 and counters["max_resident"] == 1
    assert counters["generations"] == 1 and counters["active_generations"] == 0


def test_after_an_unload_the_other_large_model_fits(standin, http):
    generate(standin, http, model="gemma3:4b", prompt="").raise_for_status()
    generate(standin, http, model="gemma3:4b", prompt="", keep_alive=0).raise_for_status()
    assert generate(standin, http, model="qwen3:4b", stream=False).status_code == 200
    assert standin.counters()["max_resident"] == 1


def test_max_resident_counts_two_when_both_fit(standin, http):
    generate(standin, http, model="llama3.2:1b", stream=False).raise_for_status()
    generate(standin, http, model="qwen2.5-coder:3b", stream=False).raise_for_status()
    assert sorted(ps_names(standin, http)) == ["llama3.2:1b", "qwen2.5-coder:3b"]
    counters = standin.counters()
    assert counters["max_resident"] == 2 and counters["resident"] == ["llama3.2:1b", "qwen2.5-coder:3b"]


def test_max_resident_includes_a_model_that_is_still_loading(standin, http):
    generate(standin, http, model="llama3.2:1b", prompt="").raise_for_status()
    standin.configure(load_seconds=1.0)

    def load_second():
        with requests.Session() as session:
            session.trust_env = False
            generate(standin, session, model="llama3.2:3b", prompt="")

    loading = threading.Thread(target=load_second)
    loading.start()
    try:
        counters = standin.wait_for(lambda c: len(c["resident"]) == 2, timeout=2)
        assert counters["max_resident"] == 2
        assert ps_names(standin, http) == ["llama3.2:1b"]  # ps lists loaded models only
    finally:
        loading.join(5)
    assert sorted(ps_names(standin, http)) == ["llama3.2:1b", "llama3.2:3b"]


def test_ram_budget_can_be_raised_at_run_time(standin, http):
    standin.configure(ram_mb=16384)
    generate(standin, http, model="gemma3:4b", prompt="").raise_for_status()
    generate(standin, http, model="qwen3:4b", prompt="").raise_for_status()
    assert standin.counters()["max_resident"] == 2
