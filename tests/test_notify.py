"""Wake-ups (llm/wakeups.py) reach a listener whatever number its socket has."""

import os
import resource
import threading

import pytest

from llm.queue import wakeups

MANY = 1100  # past select()'s limit of 1,024 descriptors


@pytest.fixture
def many_open_files(tmp_path):
    """Hold MANY open descriptors, so that the next socket is numbered past 1,023."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < MANY + 64:
        pytest.skip(f"this machine allows only {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, MANY + 64), hard))
    descriptors = [os.open(os.devnull, os.O_RDONLY) for _ in range(MANY)]
    yield
    for descriptor in descriptors:
        os.close(descriptor)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_listener_numbered_past_1023_is_woken(settings, tmp_path, many_open_files):
    settings.LLM_RUN_DIR = tmp_path
    with wakeups.listen("far") as listener:
        assert listener.sock.fileno() > 1023
        threading.Timer(0.05, wakeups.notify, args=["far"]).start()
        assert listener.wait(30) is True


def test_a_listener_nobody_wakes_says_so_when_its_time_is_up(settings, tmp_path, many_open_files):
    settings.LLM_RUN_DIR = tmp_path
    with wakeups.listen("quiet") as listener:
        assert listener.wait(0.01) is False
