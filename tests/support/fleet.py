"""Several Ollama stand-ins as the nodes of a fleet (LLM_NODES), for tests and benchmarks.

    with Fleet.start(["a", "b", "c"], load_seconds=0.2) as fleet:
        with Service.start(fleet.first, env=fleet.env()) as service:
            ...
        fleet.kill("b"); fleet.revive("b")

Only the standard library and the stand-in helper: any test or bench script can use it.
"""

from __future__ import annotations

from tests.support.standin import Standin


class Fleet:
    def __init__(self, standins: dict[str, Standin], settings: dict):
        self.standins = standins
        self._settings = settings

    @classmethod
    def start(cls, names, **settings) -> Fleet:
        standins = {}
        try:
            for name in names:
                standins[name] = Standin.start(**settings)
        except BaseException:
            for standin in standins.values():
                standin.cleanup()
            raise
        return cls(standins, settings)

    def __getitem__(self, name) -> Standin:
        return self.standins[name]

    @property
    def first(self) -> Standin:
        return next(iter(self.standins.values()))

    def env(self) -> dict:
        """The service's environment for this fleet."""
        return {"LLM_NODES": ",".join(f"{name}={standin.url}" for name, standin in self.standins.items())}

    def counters(self) -> dict:
        return {name: standin.counters() for name, standin in self.standins.items() if standin.running}

    def reset(self, **config) -> None:
        for standin in self.standins.values():
            standin.reset(state=True)
            standin.configure(faults={}, **config)

    def kill(self, name) -> None:
        """SIGKILL the node's stand-in, as a box that stops answering."""
        standin = self.standins[name]
        standin.proc.kill()
        standin.proc.wait(timeout=10)

    def revive(self, name, **settings) -> Standin:
        """A new stand-in on the killed one's port: the node answers again, with nothing loaded."""
        old = self.standins[name]
        self.standins[name] = Standin.start(port=old.port, **{**self._settings, **settings})
        old.cleanup()
        return self.standins[name]

    def cleanup(self) -> None:
        for standin in self.standins.values():
            standin.cleanup()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc_info) -> None:
        self.cleanup()
