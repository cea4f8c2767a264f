"""Sockets left in LLM_RUN_DIR by processes that died go when the web server or the worker starts."""

import socket

import pytest

from llm.queue import wakeups


@pytest.fixture
def run_dir(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path / "run"
    return wakeups.run_dir()


def dead_socket(path):
    """A socket file whose listener died without removing it (as after SIGKILL)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.close()
    return path


def test_it_removes_the_sockets_of_dead_listeners(run_dir):
    dead = [dead_socket(run_dir / f"request-req_{n}.abc") for n in range(3)]
    assert wakeups.sweep() == 3
    assert not any(path.exists() for path in dead)


def test_it_keeps_the_sockets_of_live_listeners_and_they_still_get_wake_ups(run_dir):
    dead_socket(run_dir / "broker-llm.dead")
    with wakeups.listen("broker-llm") as listener:
        assert wakeups.sweep() == 1
        assert listener.path.exists()
        assert wakeups.notify("broker-llm") == 1
        assert listener.wait(5)


def test_it_leaves_files_that_are_not_sockets_alone(run_dir):
    (run_dir / "notes.txt").write_text("mine")
    assert wakeups.sweep() == 0
    assert (run_dir / "notes.txt").read_text() == "mine"
