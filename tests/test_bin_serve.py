"""bin/serve run for real: what it prints (a key only when it makes one, never a password)
and how it stops on Ctrl-C (the worker first, after its work in hand, then the web
server, then the stand-in).

It runs from a checkout of symlinks whose .venv is this interpreter's, with its own
data folder, free ports, the echo stand-in and SQLite (or a fresh PostgreSQL database).
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import requests

from tests.support.service import API, REPO_ROOT, Database, free_port, poll

pytestmark = pytest.mark.e2e

PASSWORD = "s3cret-pa55"
STOPS = [
    ">>> Stopping the worker", ">>> The worker stopped", ">>> Stopping the web server", ">>> The web server stopped",
    ">>> Stopping the Ollama stand-in", ">>> The Ollama stand-in stopped",
]
# Left out of the checkout: what bin/serve makes, and what belongs to this interpreter.
NOT_LINKED = {".venv", "var", "staticfiles", ".pytest_cache", "test-artifacts", "__pycache__"}


@pytest.fixture(scope="module")
def checkout():
    """The repository as symlinks, with .venv pointing at the virtualenv running the tests."""
    folder = Path(tempfile.mkdtemp(prefix="serve-"))
    for entry in REPO_ROOT.iterdir():
        if entry.name not in NOT_LINKED:
            (folder / entry.name).symlink_to(entry)
    (folder / ".venv").symlink_to(Path(sys.prefix))
    (folder / "static-root").mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def data_dir():
    folder = Path(tempfile.mkdtemp(prefix="srv-"))  # short: socket paths stay under 108 bytes
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def database(data_dir):
    """None for SQLite in the data folder (bin/serve's default), else a fresh PostgreSQL database."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        yield None
        return
    created = Database(data_dir)
    yield created
    created.drop()


class Serve:
    """One run of bin/serve, its output collected line by line."""

    def __init__(self, checkout, data_dir, database, **env):
        self.web_port, self.ollama_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.ollama_host = f"http://ollama:{PASSWORD}@127.0.0.1:{self.ollama_port}"
        base = {k: v for k, v in os.environ.items()
                if k not in ("DATABASE_URL", "DJANGO_SECRET_KEY", "LLM_SERVICE_TOKEN") and not k.startswith("STANDIN_")}
        self.env = {
            **base, "LLM_DATA_DIR": str(data_dir), "WEB_BIND": f"127.0.0.1:{self.web_port}",
            "OLLAMA_HOST": self.ollama_host, "LLM_REAL_STANDIN": "0", "STATIC_ROOT": str(checkout / "static-root"),
            "PYTHONUNBUFFERED": "1", "WEB_GRACEFUL_TIMEOUT": "5",
            **({"DATABASE_URL": database.url} if database else {}), **env,
        }
        self.lines = []
        self.process = subprocess.Popen(
            ["bash", str(checkout / "bin" / "serve")], env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self):
        return "\n".join(self.lines)

    def wait_until_serving(self):
        poll(lambda: any(line.startswith(">>> Ctrl-C stops") for line in self.lines) or self.process.poll() is not None,
             180, interval=0.1, message="bin/serve to start")
        assert self.process.poll() is None, self.output
        poll(self._answers, 30, interval=0.1, message=f"the web server\n{self.output}")
        return self

    def _answers(self):
        try:
            return requests.get(self.url + API + "/models", timeout=2).status_code in (200, 401)
        except requests.RequestException:
            return False

    def ctrl_c(self):
        """What a terminal does on Ctrl-C: SIGINT to the foreground process group."""
        os.killpg(self.process.pid, signal.SIGINT)
        code = self.process.wait(timeout=120)
        self.reader.join(timeout=10)
        return code

    def kill(self):
        if self.process.poll() is None:
            self.ctrl_c()


@pytest.fixture
def serve(checkout, data_dir, database):
    runs = []

    def start(**env):
        runs.append(Serve(checkout, data_dir, database, **env))
        return runs[-1].wait_until_serving()

    yield start
    for run in runs:
        try:
            run.kill()
        except subprocess.TimeoutExpired:
            os.killpg(run.process.pid, signal.SIGKILL)


def in_order(output, markers):
    places = [output.find(marker) for marker in markers]
    return -1 not in places and places == sorted(places)


def test_it_prints_a_new_key_with_a_hint_that_runs_never_the_ollama_password_and_stops_in_order(serve, data_dir):
    first = serve()
    token = (data_dir / "service_token").read_text().strip()
    assert f"NEW admin API token, shown only now (it stays in {data_dir}/service_token): {token}" in first.output
    assert (data_dir / "service_token").stat().st_mode & 0o777 == 0o600
    assert PASSWORD not in first.output and f"***@127.0.0.1:{first.ollama_port}" in first.output
    [hint] = [first.lines[n:n + 2] for n, line in enumerate(first.lines) if line.startswith("TOKEN=")]
    assert hint[0] == f"TOKEN=$(cat {data_dir}/service_token)" and hint[1].startswith("curl ")
    status = subprocess.run(["bash", "-c", "\n".join(hint) + " --silent --show-error"], capture_output=True,
                            text=True, timeout=60)
    assert status.returncode == 0, status.stderr
    assert '"ollama_running":true' in status.stdout.replace(" ", "")  # the stand-in answers through the password
    assert first.ctrl_c() == 130
    assert in_order(first.output, STOPS), first.output
    assert PASSWORD not in first.output


def test_a_kept_key_is_not_printed_and_ctrl_c_lets_the_pull_in_hand_finish_and_starts_no_other(
    serve, data_dir, database
):
    subprocess.run([sys.executable, "-m", "llmsite.datadir", "create-token", str(data_dir / "service_token")],
                   cwd=REPO_ROOT, check=True, capture_output=True)
    token = (data_dir / "service_token").read_text().strip()
    running = serve(STANDIN_INSTALLED="", STANDIN_PULL_SECONDS="12", LLM_PULL_WAIT_SECONDS="0")  # room for a stall
    assert token not in running.output and f"API token (admin): in {data_dir}/service_token" in running.output
    assert f"TOKEN=$(cat {data_dir}/service_token)" in running.lines

    headers = {"X-API-Key": token}
    for model in ("llama3.2:1b", "phi4:mini"):
        assert requests.post(running.url + API + "/pull", json={"model": model}, headers=headers, timeout=30).status_code == 202

    def first_pull_under_way():
        pulls = requests.get(running.url + API + "/pulls", headers=headers, timeout=10).json()["pulls"]
        return any(pull["status"] == "running" and pull["completed"] > 0 for pull in pulls)

    poll(first_pull_under_way, 60, interval=0.1, message=f"the first pull to run\n{running.output}")
    assert running.ctrl_c() == 130
    # The stand-in outlived the worker: the pull in hand finished; the next one waits for the next start.
    assert pull_statuses(data_dir, database) == {"llama3.2:1b": "done", "phi4:mini": "queued"}, running.output
    assert in_order(running.output, STOPS), running.output


def pull_statuses(data_dir, database):
    sql = "SELECT model, status FROM llm_modelpull"
    if database is None:
        with sqlite3.connect(data_dir / "db.sqlite3") as connection:
            return dict(connection.execute(sql).fetchall())
    import psycopg

    with psycopg.connect(database.url.replace("postgres://", "postgresql://", 1)) as connection:
        return dict(connection.execute(sql).fetchall())


def test_ctrl_c_twice_kills_the_worker_at_once_leaving_its_pull_to_be_taken_up_at_the_next_start(serve, data_dir, database):
    running = serve(STANDIN_INSTALLED="", STANDIN_PULL_SECONDS="600", LLM_PULL_WAIT_SECONDS="0")
    headers = {"X-API-Key": (data_dir / "service_token").read_text().strip()}
    assert requests.post(running.url + API + "/pull", json={"model": "llama3.2:1b"}, headers=headers, timeout=30).status_code == 202
    poll(lambda: pull_statuses(data_dir, database) == {"llama3.2:1b": "running"}, 60, interval=0.1,
         message=f"the pull to run\n{running.output}")
    os.killpg(running.process.pid, signal.SIGINT)
    poll(lambda: any(line.startswith(">>> Stopping the worker") for line in running.lines), 30, interval=0.1,
         message=f"bin/serve to stop the worker\n{running.output}")
    assert running.ctrl_c() == 130  # the second Ctrl-C
    assert in_order(running.output, [">>> Killing the worker", *STOPS[1:]]), running.output
    # Neither finished nor failed: the next start's worker resumes it (tests/e2e/test_crash_recovery.py).
    assert pull_statuses(data_dir, database) == {"llama3.2:1b": "running"}
