"""Wake-ups (llm/wakeups.py) reach a listener whatever number its socket has."""

import asyncio
import os
import resource
import threading

import pytest
from asgiref.sync import async_to_sync

from llm.queue import hub as hubs
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
    while (low := os.open(os.devnull, os.O_RDONLY)) <= 1023:  # a gap another thread left: fill it too
        descriptors.append(low)
    os.close(low)
    yield
    for descriptor in descriptors:
        os.close(descriptor)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_listener_numbered_past_1023_is_woken(settings, tmp_path, many_open_files):
    settings.LLM_RUN_DIR = tmp_path
    held, listener = [], wakeups.listen("far")
    while listener.sock.fileno() <= 1023 and len(held) < 100:
        held.append(listener)  # a number another thread freed meanwhile is handed out first: keep it taken
        listener = wakeups.listen("far")
    try:
        with listener:
            assert listener.sock.fileno() > 1023
            threading.Timer(0.05, wakeups.notify, args=["far"]).start()
            assert listener.wait(30) is True
    finally:
        for low in held:
            low.close()


def test_a_listener_nobody_wakes_says_so_when_its_time_is_up(settings, tmp_path, many_open_files):
    settings.LLM_RUN_DIR = tmp_path
    with wakeups.listen("quiet") as listener:
        assert listener.wait(0.01) is False


def test_the_hub_wakes_a_waiter_while_the_process_holds_more_than_1024_open_files(settings, tmp_path, many_open_files):
    settings.LLM_RUN_DIR = tmp_path  # the hub has no select() or poll(): its descriptor's number does not matter
    with hubs.hub().waiter("far") as waiter:
        threading.Timer(0.05, wakeups.notify, args=["far"]).start()
        assert waiter.wait(30) is True


def test_one_hub_socket_wakes_a_thousand_waiters_on_their_channels(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path
    hub = hubs.hub()
    waiters = [hub.waiter(f"request-{n % 10}") for n in range(1000)]

    async def scenario():
        for waiter in waiters:
            waiter.__enter__()
        called = [waiter for waiter in waiters if int(waiter.channel[-1]) < 5]
        waits = asyncio.gather(*(waiter.until(30) for waiter in called))
        await asyncio.sleep(0)
        for channel in range(5):  # wakes the waiters of channels 0-4: half of them
            wakeups.notify(f"request-{channel}")
        woken = await waits
        quiet = await asyncio.gather(*(waiter.until(0.05) for waiter in waiters if waiter not in called))
        for waiter in waiters:
            waiter.__exit__(None, None, None)
        return woken, quiet

    woken, quiet = async_to_sync(scenario)()
    assert len(woken) == 500 and all(woken) and len(quiet) == 500 and not any(quiet)
    assert [path.name.split(".")[0] for path in tmp_path.iterdir()] == ["hub"], "one socket for them all"
    assert not hub.waiters


def test_a_stream_of_a_requests_text_hears_its_end_and_tells_the_worker_it_follows(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path
    text = wakeups.text_channel("r1")
    assert wakeups.followers(text) == []
    with hubs.hub().waiter(text) as waiter:
        assert wakeups.followers(text) == [str(hubs.hub().path)]  # the worker tells this hub its text
        wakeups.notify(wakeups.request_channel("r1"))  # the request ended
        assert waiter.wait(10)
    assert wakeups.followers(text) == []


def test_news_reach_the_waiters_that_take_them_with_the_wake_up(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path
    text = wakeups.text_channel("r3")
    with hubs.hub().waiter(text, news=True) as follower, hubs.hub().waiter(text) as other:
        wakeups.tell(wakeups.followers(text), text, b'{"text": "Hello"}')
        assert follower.wait(10) and other.wait(10)
        wakeups.notify(wakeups.request_channel("r3"))
        assert follower.wait(10)
        assert follower.take_news() == [b'{"text": "Hello"}', None], "the end came without news"
        assert follower.take_news() == [] and other.news is None


def test_news_to_a_web_process_that_is_gone_are_dropped(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path
    wakeups.tell([str(tmp_path / "hub.gone")], wakeups.text_channel("r4"), b"{}")


def test_sweep_forgets_the_followers_of_a_web_process_that_died(settings, tmp_path):
    settings.LLM_RUN_DIR = tmp_path
    text = wakeups.text_channel("r2")
    following = tmp_path / wakeups.FOLLOWING
    following.mkdir()
    (following / f"{text}.deadbeef00").touch()  # no hub.deadbeef00: its process is gone
    assert wakeups.followers(text)
    wakeups.sweep()
    assert not wakeups.followers(text)


def test_a_hub_served_on_the_web_servers_loop_reads_there_without_a_thread(settings, tmp_path, monkeypatch):
    """The web server's hub reads its socket on the event loop: a wake-up wakes one thread."""
    settings.LLM_RUN_DIR = tmp_path
    monkeypatch.setattr(hubs, "_hub", None)
    monkeypatch.setattr(hubs, "_server_loop", None)
    text = wakeups.text_channel("r5")

    def hub_threads():
        return [thread for thread in threading.enumerate() if thread.name == "llm-wakeups"]

    before = hub_threads()

    async def scenario():
        hubs.serve_on(asyncio.get_running_loop())
        hub = hubs.hub()
        with hub.waiter(text, news=True) as waiter:
            await asyncio.sleep(0)  # the loop takes up the socket
            wakeups.tell(wakeups.followers(text), text, b'{"text": "Hi"}')
            assert await waiter.until(10)
            return hub, waiter.take_news()

    hub, news = async_to_sync(scenario)()
    assert hub.loop is not None and news == [b'{"text": "Hi"}']
    assert not [thread for thread in hub_threads() if thread not in before]
    assert hubs.hub() is not hub, "its loop ended: the next use makes a hub of its own"
