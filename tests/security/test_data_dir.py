"""The data folder (LLM_DATA_DIR) is private: files 0600, folders 0700, whoever writes them."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.service import REPO_ROOT, Service, poll
from tests.support.standin import Standin


def modes(folder):
    """{path relative to folder: mode} for folder and everything in it."""
    found = {".": stat.S_IMODE(os.stat(folder).st_mode)}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root, name)
            found[str(path.relative_to(folder))] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def not_private(folder):
    """What another local user could read or enter: anything with a group or world bit."""
    return {name: oct(mode) for name, mode in modes(folder).items() if mode & 0o077}


def run_manage(data_dir, *args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, check=True, capture_output=True, text=True,
        env={**os.environ, "LLM_DATA_DIR": str(data_dir), "DJANGO_SECRET_KEY": "", **env},
    )


def sqlite_in(data_dir):
    """SQLite in the data folder, unless this run is on PostgreSQL (the Service's own database then)."""
    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return {}
    return {"DATABASE_URL": f"sqlite:///{data_dir}/db.sqlite3"}


@pytest.fixture
def short_tmp():
    """A temporary folder with a short path: socket paths must stay under 108 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="llm-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.e2e
def test_everything_web_worker_and_commands_write_in_the_data_folder_is_private(short_tmp):
    data_dir = short_tmp / "data"
    env = {"LLM_DATA_DIR": str(data_dir), "DJANGO_SECRET_KEY": "", **sqlite_in(data_dir)}
    with Standin.start(load_seconds=0.05, token_seconds=0.002) as standin, Service.start(standin, env=env) as service:
        queued = service.post("/generate", {"model": "llama3.2:1b", "prompt": "hello", "wait": False})
        assert service.wait_until_finished(queued.json()["request_id"])["status"] == "done"
        answered = service.post("/generate", {"model": "llama3.2:1b", "prompt": "hello again", "wait": True})
        assert answered.status_code == 200
        service.manage("create_token", "a script")
        poll(lambda: list((data_dir / "run").iterdir()), 10, message="the worker's wake-up socket")
        written = modes(data_dir)
        assert "secret_key" in written and any(name.startswith("run/") for name in written)
        if sqlite_in(data_dir):
            assert {"db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"} <= set(written)
        assert not_private(data_dir) == {}
    assert not_private(data_dir) == {}


def test_a_data_folder_left_readable_by_an_older_install_is_tightened_at_start(tmp_path):
    data_dir = tmp_path / "var"
    (data_dir / "run").mkdir(parents=True)
    for name in ("secret_key", "service_token", "db.sqlite3", "db.sqlite3-wal", "run/old-socket"):
        (data_dir / name).write_text("old\n")
    for path in [data_dir, *data_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    run_manage(data_dir, "check", DATABASE_URL="sqlite:///:memory:")
    assert not_private(data_dir) == {}
    assert modes(data_dir)["secret_key"] == 0o600 and modes(data_dir)["run"] == 0o700


def test_bin_serves_service_token_is_created_private_and_kept(tmp_path):
    path = tmp_path / "var" / "service_token"
    make = [sys.executable, "-m", "llmsite.datadir", "create-token", str(path)]
    first = subprocess.run(make, cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    token = path.read_text().strip()
    second = subprocess.run(make, cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    assert (first.stdout.strip(), second.stdout.strip()) == ("created", "kept")
    assert token.startswith("llm_") and path.read_text().strip() == token
    assert not_private(tmp_path / "var") == {}
    assert token not in first.stdout + first.stderr
