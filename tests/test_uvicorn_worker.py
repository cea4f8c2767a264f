"""The web server's uvicorn ticks once a second, not ten times, and still does its once-a-second work each tick."""

import asyncio

from uvicorn import Config

from llmsite import gunicorn
from llmsite.uvicorn_worker import TICK_SECONDS, QuietServer


def test_the_procfiles_web_server_runs_the_quiet_worker():
    assert gunicorn.worker_class == "llmsite.uvicorn_worker.QuietUvicornWorker"


def test_the_server_sleeps_a_second_between_ticks_and_each_tick_refreshes_the_date(monkeypatch):
    server = QuietServer(Config(app=None))
    sleeps, counters = [], []

    async def sleep(seconds):
        sleeps.append(seconds)

    async def on_tick(counter):
        counters.append(counter)
        return len(counters) == 4

    monkeypatch.setattr(asyncio, "sleep", sleep)
    monkeypatch.setattr(server, "on_tick", on_tick)
    asyncio.run(server.main_loop())
    assert TICK_SECONDS == 1.0 and sleeps == [1.0, 1.0, 1.0]
    assert all(counter % 10 == 0 for counter in counters)  # uvicorn's once-a-second work runs at each
