"""The generated secret key: written once, whole, and the same for processes that start together."""

import os
import subprocess
import sys

from tests.support.service import REPO_ROOT

PROCESSES = 8

# Each process waits for its stdin to close, so that all of them go for the key at once.
READ_SETTINGS = "import sys; sys.stdin.read(); from llmsite import settings; print(settings.SECRET_KEY)"
# As above, but making the key takes a while: every process finds no file and makes one.
SLOW_KEY = (
    "import sys, time; from pathlib import Path; from llmsite import datadir; sys.stdin.read()\n"
    "def make():\n"
    "    time.sleep(0.3)  # widens the race: all of them are making a key at once\n"
    "    return f'key-of-{__import__(\"os\").getpid()}'\n"
    "print(datadir.read_or_create(Path(sys.argv[1]) / 'secret_key', make)[0])"
)


def race(code, data_dir, *args):
    """Start PROCESSES processes running `code`, release them together, return what each printed."""
    env = {**os.environ, "LLM_DATA_DIR": str(data_dir), "DJANGO_SECRET_KEY": "", "DATABASE_URL": "sqlite:///:memory:"}
    processes = [
        subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO_ROOT, env=env, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.stdin.close()
    for process in processes:
        process.wait(timeout=60)  # a line or two of output each: no pipe fills up
    outcomes = [(process.stdout.read(), process.stderr.read()) for process in processes]
    assert [process.returncode for process in processes] == [0] * PROCESSES, [err for _, err in outcomes]
    return [out.strip() for out, _ in outcomes]


def test_processes_starting_together_end_up_with_the_same_secret_key(tmp_path):
    keys = race(READ_SETTINGS, tmp_path)
    assert len(set(keys)) == 1 and len(keys[0]) >= 50
    assert (tmp_path / "secret_key").read_text().strip() == keys[0]


def test_when_all_of_them_make_a_key_exactly_one_wins_and_the_others_read_its_key(tmp_path):
    keys = race(SLOW_KEY, tmp_path, str(tmp_path))
    assert len(set(keys)) == 1 and keys[0].startswith("key-of-")
    assert (tmp_path / "secret_key").read_text().strip() == keys[0]
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left behind
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_a_key_given_in_the_environment_is_used_and_nothing_is_written(tmp_path):
    env = {**os.environ, "LLM_DATA_DIR": str(tmp_path), "DJANGO_SECRET_KEY": "k" * 50}
    result = subprocess.run([sys.executable, "-c", "from llmsite import settings; print(settings.SECRET_KEY)"],
                            cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True)
    assert result.stdout.strip() == "k" * 50
    assert not (tmp_path / "secret_key").exists()
