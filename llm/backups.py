"""Backing up and restoring the database while the box stays simple.

SQLite: a backup is SQLite's online backup API, which copies a consistent
snapshot (the state of one read transaction) while the web server and the
worker go on writing; the copy is a self-contained file (no -wal beside it),
checked, and only then moved to its name. A restore copies a backup into the
database with the same API, so SQLite's own locking and WAL stay in charge.
The queue is in the database: requests waiting when the backup was taken run
after the restore.

PostgreSQL: `pg_dump --format=custom`, also a consistent snapshot, and
`pg_restore --clean`; the password travels in the environment, never on a
command line.

A restore refuses while the service runs: it would pull the ground from under
requests in flight. "Runs" means the web server accepts connections at
WEB_BIND, or a worker listens for wake-ups (llm/queue/broker.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.db import connections
from django_q.conf import Conf
from django_q.models import OrmQ

from llm.queue import wakeups


class BackupError(Exception):
    """Why a backup or a restore could not be done, in one sentence."""


def default_path() -> Path:
    """Where a backup goes when no path is given: $LLM_DATA_DIR/backups/db-<UTC time>.<kind>."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if _is_sqlite() else "pgdump"
    return Path(settings.DATA_DIR) / "backups" / f"db-{stamp}.{suffix}"


def backup(path: Path | None = None) -> Path:
    """Write a consistent copy of the database to `path` (readable by its owner only); returns the path."""
    path = Path(path) if path else default_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    old_umask = os.umask(0o077)  # prompts and token hashes: for the owner only
    try:
        if _is_sqlite():
            _sqlite_backup(partial)
        else:
            _pg_dump(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old_umask)
    partial.replace(path)
    return path


def restore(path: Path) -> None:
    """Replace the database's content with the backup at `path`. Refuses while the service runs."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"No backup at {path}")
    if running := service_running():
        raise BackupError(f"The service is running ({running}): stop the web server and the worker first")
    connections.close_all()
    if _is_sqlite():
        _sqlite_restore(path)
    else:
        _pg_restore(path)
    # django-q2's stored tasks are only wake-ups (llm/queue/tasks.py), signed with the
    # SECRET_KEY of the box that stored them: another key cannot read them. A
    # starting worker wakes the queue anyway, so nothing is lost without them.
    OrmQ.objects.using(Conf.ORM).all().delete()


def service_running() -> str:
    """What of the service answers on this box ("" when nothing does)."""
    running = []
    if _web_answers(os.getenv("WEB_BIND", f"127.0.0.1:{os.getenv('PORT', '8000')}")):
        running.append("the web server")
    broker_channel = f"broker-{Conf.CLUSTER_NAME}"
    if any(_listening(path) for path in wakeups.run_dir().glob(f"{broker_channel}.*")):
        running.append("the worker")
    return " and ".join(running)


# -- SQLite -------------------------------------------------------------------


def _sqlite_backup(target: Path) -> None:
    source = sqlite3.connect(_sqlite_name(), timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # all pages in one step: one read transaction, one snapshot
        copy.execute("PRAGMA journal_mode=DELETE")  # one file, whatever the source's mode
        _check(copy, target)
    finally:
        copy.close()
        source.close()


def _sqlite_restore(path: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        _check(source, path)
        if not source.execute("SELECT 1 FROM sqlite_master WHERE name = 'django_migrations'").fetchone():
            raise BackupError(f"{path} is not a backup of this service (no django_migrations table)")
        database = sqlite3.connect(_sqlite_name(), timeout=30)
        try:
            source.backup(database)
        finally:
            database.close()
    finally:
        source.close()


def _check(connection: sqlite3.Connection, path: Path) -> None:
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database ({exc})") from None
    if verdict != "ok":
        raise BackupError(f"{path} failed SQLite's integrity check: {verdict}")


def _sqlite_name() -> str:
    return str(_database()["NAME"])


def _is_sqlite() -> bool:
    return _database()["ENGINE"] == "django.db.backends.sqlite3"


def _database() -> dict:
    return connections["default"].settings_dict


# -- PostgreSQL ---------------------------------------------------------------


def _pg_dump(target: Path) -> None:
    _pg_run("pg_dump", "--format=custom", "--no-owner", f"--file={target}")


def _pg_restore(path: Path) -> None:
    _pg_run("pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", str(path))


def _pg_run(program: str, *args: str) -> None:
    if shutil.which(program) is None:
        raise BackupError(f"{program} is missing: install PostgreSQL's client (apt-get install postgresql-client)")
    db = _database()
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    # pg_restore reads PGDATABASE only with -d; pg_dump reads it as is.
    argv = [program, *args] + (["--dbname", db["NAME"]] if program == "pg_restore" else [])
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()[-2000:]}")


# -- Is the service running? ----------------------------------------------------


def _web_answers(bind: str) -> bool:
    bind = bind.split(",")[0].strip()
    if bind.startswith("unix:"):
        family, address = socket.AF_UNIX, bind[len("unix:"):]
    else:
        host, _, port = bind.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        host = "127.0.0.1" if host == "0.0.0.0" else "::1" if host == "::" else host
        family, address = (socket.AF_INET6 if ":" in host else socket.AF_INET), (host, int(port))
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect(address)
        except OSError:
            return False
    return True


def _listening(path: Path) -> bool:
    """Is a process bound to this wake-up socket? (Connecting sends nothing.)"""
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True
