"""backup_db and restore_db through Django's call_command, on the test database."""

import io
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from llm.queue import wakeups
from tests.support.service import free_port


@pytest.fixture
def nothing_runs(monkeypatch, settings, tmp_path):
    """No web server at WEB_BIND and no worker listening, whatever else runs on this box."""
    monkeypatch.setenv("WEB_BIND", f"127.0.0.1:{free_port()}")
    settings.LLM_RUN_DIR = tmp_path / "run"


def backup_db(*args):
    out = io.StringIO()
    call_command("backup_db", *args, stdout=out)
    return Path(out.getvalue().strip())


def test_a_backup_is_readable_by_its_owner_only(db, tmp_path):
    path = backup_db(str(tmp_path / "backups" / "db.bak"))
    assert path == tmp_path / "backups" / "db.bak" and path.stat().st_size > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["db.bak"], "no partial file left behind"


def test_a_backup_without_a_path_goes_to_the_data_folder(db, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    path = backup_db()
    assert path.parent == tmp_path / "backups" and path.name.startswith("db-")


def test_restore_refuses_a_file_that_is_not_a_backup(db, tmp_path, nothing_runs):
    junk = tmp_path / "junk"
    junk.write_bytes(b"not a database at all" * 100)
    with pytest.raises(CommandError, match="not a readable SQLite database|pg_restore failed"):
        call_command("restore_db", str(junk))


def test_restore_refuses_a_missing_file(db, tmp_path, nothing_runs):
    with pytest.raises(CommandError, match="No backup at"):
        call_command("restore_db", str(tmp_path / "nowhere"))


def test_restore_refuses_while_a_worker_listens_for_wake_ups(db, tmp_path, nothing_runs):
    path = backup_db(str(tmp_path / "db.bak"))
    with wakeups.listen("broker-llm"):
        with pytest.raises(CommandError, match="The service is running \\(the worker\\)"):
            call_command("restore_db", str(path))
