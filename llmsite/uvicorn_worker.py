"""uvicorn's worker for gunicorn, its server ticking once a second instead of ten times.

uvicorn's server wakes every 100 ms, busy or not, to refresh its Date header (once a second)
and see whether it should stop. An idle web server on a box that runs a model should cost next
to nothing: with the tick at 1 s the idle web server took 0.025% of a core over 40 s, where it
took 0.25% (docs/benchmarks.md, "Lean"). The Date header is still refreshed every second; a stop
is seen within a second instead of 0.1 s.
"""

import asyncio
import sys

from gunicorn.arbiter import Arbiter
from uvicorn import Server
from uvicorn_worker import UvicornWorker

TICK_SECONDS = 1.0


class QuietServer(Server):
    async def main_loop(self) -> None:
        # uvicorn's on_tick does its once-a-second work when the counter is a multiple of 10.
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000
            await asyncio.sleep(TICK_SECONDS)
            should_exit = await self.on_tick(counter)


class QuietUvicornWorker(UvicornWorker):
    async def _serve(self) -> None:  # uvicorn_worker's, with the quiet server
        self.config.app = self.wsgi
        server = QuietServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
