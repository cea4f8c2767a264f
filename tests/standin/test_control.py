"""The stand-in's control API, its command line and the helper tests start it with (plain pytest, no Django).

One stand-in runs per module (see conftest.py) with short timings; it is reset
to its start-up state before each test.  Nothing sleeps and hopes: anything
that happens later is polled for with a deadline.
"""

from __future__ import annotations

import pytest

from llm.standin.__main__ import build_settings, parse_args
from tests.standin.calls import generate
from tests.support.standin import Standin


# ------------------------------------------------------------ control API
def test_counters_reset_to_zero_and_state_reset_unloads_and_restores(standin, http):
    generate(standin, http, stream=False).raise_for_status()
    standin.configure(installed=["llama3.2:1b"], faults={"slow_seconds": 0.01})
    counters = standin.reset()
    assert counters["generations"] == 0 and counters["loads"] == 0 and counters["prompts"] == {}
    assert counters["resident"] == ["llama3.2:1b"] and counters["max_resident"] == 1
    counters = standin.reset(state=True)
    assert counters["resident"] == [] and counters["unloads"] == 0
    config = standin.request("GET", "/_standin/config")
    assert len(config["installed"]) == 6 and config["faults"] == {}


def test_config_returns_the_settings_and_rejects_unknown_keys(standin):
    config = standin.configure(token_seconds=0.001)
    assert config["token_seconds"] == 0.001 and config["ram_mb"] == 4096 and config["load_seconds"] == 0.05
    with pytest.raises(Exception, match="400"):
        standin.configure(nonsense=1)
    with pytest.raises(Exception, match="400"):
        standin.configure(installed=["not-in-registry"])


# --------------------------------------------------------- CLI and helper
def test_cli_settings_come_from_flags_and_standin_env_vars(monkeypatch):
    monkeypatch.setenv("STANDIN_RAM_MB", "8192")
    monkeypatch.setenv("STANDIN_INSTALLED", "llama3.2:1b,phi4-mini")
    args = parse_args(["--token-seconds", "0.5", "--extra-models", "big:7b=5000000000"])
    settings = build_settings(args)
    assert settings.ram_mb == 8192 and settings.token_seconds == 0.5
    assert settings.installed == {"llama3.2:1b", "phi4-mini:latest"}
    assert settings.registry["big:7b"].size == 5_000_000_000
    settings = build_settings(parse_args(["--installed", "", "--extra-models",
                                          '{"big:7b": {"size": 5000000000, "installed": true}}']))
    assert settings.installed == set()


def test_the_helper_starts_with_settings_logs_and_stops():
    with Standin.start(installed="", ram_mb=1024, extra_models={"tiny:1b": 100_000_000},
                       faults={"slow_seconds": 0.01}) as server:
        assert server.request("GET", "/api/tags") == {"models": []}
        config = server.request("GET", "/_standin/config")
        assert config["ram_mb"] == 1024 and "tiny:1b" in config["registry"]
        assert config["faults"] == {"slow_seconds": 0.01}
        assert "listening on " + server.url in server.log_text()
    assert not server.running
