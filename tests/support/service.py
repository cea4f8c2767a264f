"""The gateway as the Procfile runs it (gunicorn + qcluster), on a database of its own.

    with Service.start(standin) as service:
        service.post("/generate", {"model": ..., "prompt": ...})

On SQLite the database is a file in a temporary folder; when DATABASE_URL
points at PostgreSQL, a fresh database is created on that server and dropped
afterwards. The processes only share that database and the stand-in with the
test: everything else goes over HTTP, as for any client.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1/llm"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def poll(condition, timeout, interval=0.05, message="condition"):
    """Call `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"Timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


class Database:
    """A database for one Service: a temporary SQLite file, or a new PostgreSQL database.

    `migrated`: a copy of a database migrated once per test session (`_template()`), so that a
    Service's own `migrate` has nothing to apply: it only sends post_migrate, which sets what
    depends on the Service's settings (the safety-net and prune schedules). Migrating from
    scratch costs each Service 5-12 s; the copy well under one."""

    def __init__(self, folder, migrated=False, prefix="llm_e2e"):
        base = os.environ.get("DATABASE_URL", "")
        self.postgres = base.startswith(("postgres://", "postgresql://"))
        template = _template() if migrated else None
        if self.postgres:
            self.name = f"{prefix}_{secrets.token_hex(4)}"
            self.admin_url = base
            self.url = urlunparse(urlparse(base)._replace(path=f"/{self.name}"))
            self._execute(f'CREATE DATABASE "{self.name}"' + (f' TEMPLATE "{template.name}"' if template else ""))
        else:
            path = Path(folder) / "e2e.sqlite3"
            self.url = f"sqlite:///{path}"
            if template:
                with closing(sqlite3.connect(template.path)) as source, closing(sqlite3.connect(path)) as copy:
                    source.backup(copy)

    def drop(self):
        if self.postgres:
            self._execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _execute(self, sql):
        import psycopg

        with psycopg.connect(self.admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
            conn.execute(sql)


_templates = {}
_templates_lock = threading.Lock()


def _template():
    """This process's migrated database (one per DATABASE_URL), made at first use and removed at exit."""
    base = os.environ.get("DATABASE_URL", "")
    with _templates_lock:
        if base not in _templates:
            folder = Path(tempfile.mkdtemp(prefix="llm-template-"))
            template = Database(folder, prefix="llm_template")
            template.path = folder / "e2e.sqlite3"
            env = {**os.environ, "DATABASE_URL": template.url, "LLM_DATA_DIR": str(folder),
                   "DJANGO_SECRET_KEY": secrets.token_urlsafe(40)}
            try:
                subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO_ROOT, env=env,
                               check=True, capture_output=True)
            except BaseException:
                template.drop()
                raise
            atexit.register(template.drop)
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            _templates[base] = template
        return _templates[base]


class Service:
    WORKER_COMMAND = ("worker",)  # as the Procfile runs it

    def __init__(self, standin, env=None, web_threads=32, token=None, migrated=False):
        """`migrated`: start from a migrated copy (Database), unless `env` names a database of its own."""
        self.standin = standin
        self.folder = Path(tempfile.mkdtemp(prefix="llm-e2e-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # Another service's token sees that service's requests in a database restored from it.
        self.token = token or "e2e-" + secrets.token_urlsafe(16)
        self.database = Database(self.folder, migrated=migrated and "DATABASE_URL" not in (env or {}))
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database.url,
            "OLLAMA_HOST": standin.url,
            "LLM_SERVICE_TOKEN": self.token,
            "LLM_DATA_DIR": str(self.folder),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "WEB_BIND": f"127.0.0.1:{self.port}",
            "WEB_THREADS": str(web_threads),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self.session = requests.Session()
        self.session.headers["X-API-Key"] = self.token
        self.web = self.worker = None
        self.others = []  # worker groups standing for other hosts

    @classmethod
    def start(cls, standin, before_start=None, worker=True, **kwargs):
        """Migrate, then start web and worker; `before_start(service)` runs between (to seed the database).
        Without `worker`, the web server alone: work runs on other hosts' workers (`start_other_host_worker`)."""
        service = cls(standin, migrated=True, **kwargs)
        try:
            service._run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"])
            if before_start is not None:
                before_start(service)
            if worker:
                service.start_worker()  # it starts while the web server does
            service.start_web()
        except BaseException:
            service.stop()
            raise
        return service

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()

    # -- processes ------------------------------------------------------------

    def start_web(self):
        """gunicorn as the Procfile runs it; returns once it answers."""
        self.web = self._spawn("web", [sys.executable, "-m", "gunicorn", "llmsite.asgi", "-c", "python:llmsite.gunicorn"])
        poll(self._answers, 30, message=f"the web server at {self.url}\n{self.logs()}")

    def start_worker(self):
        self.worker = self._spawn("worker", [sys.executable, "manage.py", *self.WORKER_COMMAND])

    def start_other_host_worker(self, host):
        """A second worker group standing for another host: its own LLM_HOST_ID and run directory
        (no wake-up from this box reaches it: it finds tasks and work by polling the database)."""
        run_dir = self.folder / f"run-{host}"
        env = {"LLM_HOST_ID": host, "LLM_RUN_DIR": str(run_dir)}
        worker = self._spawn(f"worker-{host}", [sys.executable, "manage.py", *self.WORKER_COMMAND], env)
        self.others.append(worker)
        return worker

    def wait_for_worker(self, timeout=60, host=None):
        """Return once the worker's cluster (or `host`'s) says it runs (a benchmark's clock should not count its start)."""
        log = self.folder / (f"worker-{host}.log" if host else "worker.log")
        poll(lambda: log.exists() and "] running." in log.read_text(errors="replace"), timeout,
             message=f"the worker to start\n{self.logs()}")

    def kill_worker(self, sig=signal.SIGKILL):
        """Signal the whole qcluster process group (sentinel, pusher, workers) and reap it."""
        os.killpg(self.worker.pid, sig)
        self.worker.wait(timeout=60)

    def stop(self):
        for process in (*self.others, self.worker, self.web):
            if process is not None and process.poll() is None:
                # The leader only: it stops its own children in order (qcluster's
                # children signalled directly leave its sentinel waiting).
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.session.close()
        self.database.drop()

    def logs(self):
        return "\n".join(
            f"--- {path.name} ---\n{path.read_text(errors='replace')[-6000:]}" for path in sorted(self.folder.glob("*.log"))
        )

    def _spawn(self, name, argv, env=None):
        log = open(self.folder / f"{name}.log", "ab")
        return subprocess.Popen(
            argv, cwd=REPO_ROOT, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    def manage(self, *args, env=None):
        """Run a management command against this service's database; returns its stdout."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env={**self.env, **(env or {})},
            check=True, capture_output=True, text=True,
        )
        return result.stdout

    def store_unannounced(self, **fields):
        """Store a generation of the service's token straight in the database, waking nobody
        (as a web process killed between storing a request and waking the worker would)."""
        self.get("/status")  # the token's row exists once it was used
        code = (
            "from llm.models import ApiToken, GenerationRequest\n"
            "token = ApiToken.objects.get(is_bootstrap=True)\n"
            f"print(GenerationRequest.objects.create(token=token, **{fields!r}).request_id)"
        )
        return self.manage("shell", "-c", code).strip().splitlines()[-1]

    def _run(self, argv):
        subprocess.run(argv, cwd=REPO_ROOT, env=self.env, check=True, capture_output=True)

    def _answers(self):
        try:
            return self.session.get(self.url + API + "/models", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    # -- HTTP -----------------------------------------------------------------

    def get(self, path, **kwargs):
        kwargs.setdefault("timeout", 60)
        return self.session.get(self.url + API + path, **kwargs)

    def post(self, path, body=None, **kwargs):
        kwargs.setdefault("timeout", 120)
        return self.session.post(self.url + API + path, json=body, **kwargs)

    def wait_until_finished(self, request_id, timeout=60):
        def finished():
            body = self.get(f"/requests/{request_id}").json()
            return body if body["status"] not in ("queued", "running") else None

        return poll(finished, timeout, message=f"{request_id} to finish\n{self.logs()}")


def print_logs_after_a_failure(request, service):
    """The body of an autouse fixture: after a test that failed, print `service`'s logs
    (pytest shows them with the failure)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(service.logs())
