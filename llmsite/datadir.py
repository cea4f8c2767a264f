"""The data folder (LLM_DATA_DIR, default var/): private to the user the service runs as.

It holds the SQLite database (prompts, answers, session keys), `secret_key` (signs
sessions) and `service_token` (an admin API key), and the run folder with the
wake-up sockets. Every file in it is 0600 and every folder 0700, whichever process
writes it (web, worker, a management command, bin/serve), and a folder left
readable by an older install is tightened at every start.

Settings call this before anything else runs, so it imports nothing from Django
but its exception. `python -m llmsite.datadir create-token PATH` is bin/serve's
way to make the service token (prints "created" or "kept").
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

FILE_MODE = 0o600
DIR_MODE = 0o700


def make_private(folder: Path) -> None:
    """Create `folder` (0700) if need be, and make it and everything in it private."""
    folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(folder)


def tighten(folder: Path) -> None:
    """Files 0600 and folders 0700 in `folder`, itself included. Symlinks are left alone."""
    _chmod(folder, DIR_MODE)
    for root, folders, files in os.walk(folder):
        for name in folders:
            _chmod(Path(root, name), DIR_MODE)
        for name in files:
            _chmod(Path(root, name), FILE_MODE)


def private_database(name) -> None:
    """Create the SQLite database file `name` empty with mode 0600 unless it exists.

    SQLite creates its file 0644, and its -wal and -shm files take the database's
    mode, so an empty file made private first (a valid empty database) keeps all
    three private. Nothing for an in-memory database or a missing folder.
    """
    path = _sqlite_path(name)
    if path is None or not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass


def private_sqlite_files(sender, connection, **kwargs) -> None:
    """On a new SQLite connection (Django's connection_created): its files 0600.

    For databases made without private_database(), such as the test database."""
    path = _sqlite_path(connection.settings_dict["NAME"]) if connection.vendor == "sqlite" else None
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            _chmod(Path(f"{path}{suffix}"), FILE_MODE)


def _sqlite_path(name) -> Path | None:
    name = str(name)
    return None if name == ":memory:" or name.startswith("file:") else Path(name)


def read_or_create(path: Path, make: Callable[[], str]) -> tuple[str, bool]:
    """The text of `path`, written (0600) with `make()` by whichever process comes first.

    The text goes to a temporary file that is then linked to `path`: a link fails
    when the name exists, so exactly one process wins, and the others read the
    winner's file, which is whole from the moment it has its name.
    Returns the text and whether this call created it.
    """
    created = False
    if not path.exists():
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(make() + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, path)
            created = True
        except FileExistsError:
            pass  # another process was first: use its text
        finally:
            os.unlink(temporary)
    text = path.read_text().strip()
    if not text:
        raise ImproperlyConfigured(f"{path} is empty: delete it and start again to get a new one")
    return text, created


def new_service_token() -> str:
    return "llm_" + secrets.token_urlsafe(32)


def _chmod(path: Path, mode: int) -> None:
    try:
        if not path.is_symlink() and path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except FileNotFoundError:
        pass  # removed meanwhile, e.g. the socket of a listener that just closed


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "create-token":
        print("usage: python -m llmsite.datadir create-token PATH", file=sys.stderr)
        return 2
    path = Path(argv[1])
    make_private(path.parent)
    _, created = read_or_create(path, new_service_token)
    print("created" if created else "kept")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
