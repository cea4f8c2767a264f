"""Run the Ollama stand-in (``python -m llm.standin``) as a subprocess in tests.

    with Standin.start(load_seconds=0.05, token_seconds=0.005) as ollama:
        requests.post(ollama.url + "/api/generate", json={...})
        assert ollama.counters()["max_resident"] == 1

Settings are passed as CLI flags (``installed`` may be a list, ``extra_models``
a dict); ``faults=`` is applied through the control API once it is up.  The
server's output goes to ``.log_path`` (print ``.log_text()`` when a test fails).
Only the standard library is used, so any test can import this.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on (http://\S+)")
_FLAGS = ("host", "load_seconds", "token_seconds", "pull_seconds", "ram_mb", "installed", "extra_models",
          "backend", "model_file", "model_size", "threads", "ctx")
# no proxies, ever: the stand-in is on 127.0.0.1
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class StandinError(RuntimeError):
    pass


class Standin:
    def __init__(self, proc: subprocess.Popen, url: str, log_path: Path, tmpdir: str):
        self.proc = proc
        self.url = url
        self.log_path = log_path
        self._tmpdir = tmpdir
        self.port = int(url.rsplit(":", 1)[1])
        self.host_port = (url.split("//", 1)[1].rsplit(":", 1)[0].strip("[]"), self.port)

    # ------------------------------------------------------------ lifecycle
    @classmethod
    def start(cls, port: int | None = None, timeout: float = 15.0, **settings) -> Standin:
        """Launch the stand-in and wait until ``/api/version`` answers.

        ``port=None`` lets the server bind port 0 (a free port, no race) and
        reads the real port from its start line."""
        faults = settings.pop("faults", None)
        unknown = set(settings) - set(_FLAGS)
        if unknown:
            raise TypeError(f"unknown stand-in settings: {sorted(unknown)}")
        argv = [sys.executable, "-m", "llm.standin", "--port", str(port or 0)]
        settings.setdefault("host", "127.0.0.1")
        settings.setdefault("backend", "echo")  # deterministic text unless a test asks for "llama"
        for key, value in settings.items():
            if isinstance(value, (list, tuple, set)):
                value = ",".join(value)
            elif isinstance(value, dict):
                value = json.dumps(value)
            argv += ["--" + key.replace("_", "-"), str(value)]

        tmpdir = tempfile.mkdtemp(prefix="standin-")
        log_path = Path(tmpdir) / "standin.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("STANDIN_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        url = None
        try:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise StandinError(f"stand-in exited with {proc.returncode}:\n{log_path.read_text()}")
                if url is None:
                    found = _LISTENING.search(log_path.read_text(errors="replace"))
                    url = found.group(1) if found else None
                if url is not None and _answers(url + "/api/version"):
                    break
                time.sleep(0.02)
            else:
                raise StandinError(f"stand-in did not answer within {timeout}s:\n{log_path.read_text()}")
        except BaseException:
            _terminate(proc)
            raise
        standin = cls(proc, url, log_path, tmpdir)
        if faults:
            standin.configure(faults=faults)
        return standin

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate (then kill after ``timeout``); the log stays readable."""
        _terminate(self.proc, timeout)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> Standin:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.cleanup()
        else:
            self.stop()  # keep the log for the failure report

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    # ---------------------------------------------------------- control API
    def counters(self) -> dict:
        return self.request("GET", "/_standin/counters")

    def configure(self, **config) -> dict:
        """E.g. ``configure(ram_mb=8192, faults={"down": True})``."""
        return self.request("POST", "/_standin/config", config)

    def reset(self, state: bool = False) -> dict:
        """Zero the counters; ``state=True`` also unloads every model and
        restores the start-up settings (installed models, registry, timings)
        and clears faults."""
        return self.request("POST", "/_standin/reset", {"state": state})

    def wait_for(self, predicate, timeout: float = 5.0, interval: float = 0.01) -> dict:
        """Poll counters until ``predicate(counters)`` is true; return them."""
        deadline = time.monotonic() + timeout
        while True:
            counters = self.counters()
            if predicate(counters):
                return counters
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; counters: {counters}")
            time.sleep(interval)

    def request(self, method: str, path: str, body=None, timeout: float = 10.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise StandinError(f"{method} {path} -> {exc.code}: {exc.read().decode(errors='replace')}") from exc
        return json.loads(raw) if raw else None


def _answers(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=1.0) as resp:
            return resp.status == 200
    except (OSError, ValueError):
        return False


def _terminate(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
