"""Thread-safe state of the Ollama stand-in: settings, installed and resident
models, keep-alive expiry, fault switches and the counters tests read.

One ``threading.Condition`` guards everything; nothing sleeps while holding it.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from llm.engine.keepalive import DEFAULT_KEEP_ALIVE, FOREVER, BadRequest
from .models import (
    MIB,
    ModelSpec,
    default_registry,
    human_bytes,
    normalize_name,
    parse_extra_models,
    spec_from,
)

_GO_MAX_DURATION = timedelta(microseconds=(2**63 - 1) // 1000)  # ~292 years


class LoadError(RuntimeError):
    """Maps to HTTP 500 {"error": ...} (Ollama's memory error)."""


def rfc3339(dt: datetime) -> str:
    return dt.isoformat()


def utc_now_str() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Resident:
    spec: ModelSpec
    loading: bool = True
    refs: int = 0
    keep_alive: float = DEFAULT_KEEP_ALIVE
    deadline: float = FOREVER  # time.monotonic() at which it expires when idle
    failed: bool = False  # set when removed while loading (reset/delete)

    def start_idle_clock(self) -> None:
        """The last reference is gone: expire ``keep_alive`` from now."""
        ka = self.keep_alive
        self.deadline = FOREVER if ka == FOREVER else time.monotonic() + ka

    def expires_at(self) -> str:
        local = datetime.now().astimezone()
        if self.refs > 0 or self.loading:
            remaining = self.keep_alive
        else:
            remaining = self.deadline - time.monotonic() if self.deadline != FOREVER else FOREVER
        remaining = min(max(remaining, 0.0), _GO_MAX_DURATION.total_seconds())
        return rfc3339(local + timedelta(seconds=remaining))


@dataclass
class Settings:
    load_seconds: float = 0.2
    token_seconds: float = 0.01
    pull_seconds: float = 1.0
    ram_mb: float = 4096
    registry: dict[str, ModelSpec] = field(default_factory=default_registry)
    installed: set[str] | None = None  # None -> every registry model
    faults: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.installed is None:
            self.installed = set(self.registry)

    def public(self) -> dict:
        return {
            "load_seconds": self.load_seconds,
            "token_seconds": self.token_seconds,
            "pull_seconds": self.pull_seconds,
            "ram_mb": self.ram_mb,
            "installed": sorted(self.installed),
            "registry": {
                n: {"size": s.size, "parameter_size": s.parameter_size, "family": s.family}
                for n, s in sorted(self.registry.items())
            },
            "faults": dict(self.faults),
        }


NUMERIC_SETTINGS = ("load_seconds", "token_seconds", "pull_seconds", "ram_mb")
FAULT_KEYS = {"down", "slow_seconds", "drop_after_chunks", "error", "load_oom"}


def _zero_counters() -> dict:
    return {
        "max_resident": 0,
        "max_concurrent_generations": 0,
        "active_generations": 0,
        "generations": 0,
        "generations_by_model": {},
        "prompts": {},
        "streamed_tokens": {},
        "embeds": 0,
        "embeds_by_model": {},
        "loads": 0,
        "unloads": 0,
        "load_failures": 0,
        "pulls": 0,
        "deletes": 0,
        "requests": {},
        "connections": 0,  # accepted (a client that keeps its connection alive opens one)
    }


class State:
    def __init__(self, settings: Settings, backend=None):
        self._initial = copy.deepcopy(settings)
        self.settings = settings
        # load(name)/unload(name)/loaded() of the text backend: real memory in llama mode
        self.backend = backend
        self.cond = threading.Condition(threading.Lock())
        self.resident: dict[str, Resident] = {}
        self.counters = _zero_counters()
        self.started_at = datetime.now().astimezone().isoformat()
        self.modified: dict[str, str] = {}  # model -> modified_at of its last pull
        self._stopping = False
        self._reaper = threading.Thread(target=self._reap_loop, name="standin-reaper", daemon=True)
        self._reaper.start()

    # ---------------------------------------------------------------- helpers
    def close(self) -> None:
        with self.cond:
            self._stopping = True
            self.cond.notify_all()

    def _reap_locked(self) -> float:
        """Unload idle models past their deadline; return seconds to next one."""
        now = time.monotonic()
        wait = FOREVER
        for key, r in list(self.resident.items()):
            if r.loading or r.refs > 0:
                continue
            if r.deadline <= now:
                self._drop_locked(key)
            else:
                wait = min(wait, r.deadline - now)
        return wait

    def _reap_loop(self) -> None:
        with self.cond:
            while not self._stopping:
                wait = self._reap_locked()
                self.cond.wait(timeout=min(wait, 1.0))

    def _drop_locked(self, key: str) -> bool:
        r = self.resident.pop(key, None)
        if r is None:
            return False
        if r.loading:
            r.failed = True  # acquire() frees what it loaded
        else:
            self.counters["unloads"] += 1
            if self.backend is not None:
                self.backend.unload(key)
        self.cond.notify_all()
        return True

    def _used_bytes_locked(self) -> int:
        return sum(r.spec.size for r in self.resident.values())

    def timing(self) -> tuple[float, float, float]:
        with self.cond:
            s = self.settings
            return s.load_seconds, s.token_seconds, s.pull_seconds

    def faults(self) -> dict:
        with self.cond:
            return copy.deepcopy(self.settings.faults)

    def count_connection(self) -> None:
        with self.cond:
            self.counters["connections"] += 1

    def count_request(self, path: str) -> None:
        with self.cond:
            req = self.counters["requests"]
            req[path] = req.get(path, 0) + 1

    # ---------------------------------------------------------------- models
    def installed_spec(self, name: str) -> ModelSpec | None:
        key = normalize_name(name)
        with self.cond:
            if key in self.settings.installed:
                return self.settings.registry.get(key)
            return None

    def registry_spec(self, name: str) -> ModelSpec | None:
        with self.cond:
            return self.settings.registry.get(normalize_name(name))

    def tags(self) -> list[tuple[ModelSpec, str]]:
        with self.cond:
            s = self.settings
            return [
                (s.registry[k], self.modified.get(k, self.started_at))
                for k in sorted(s.installed)
                if k in s.registry
            ]

    def ps(self) -> list[tuple[ModelSpec, str]]:
        with self.cond:
            self._reap_locked()
            return [(r.spec, r.expires_at()) for r in self.resident.values() if not r.loading]

    def acquire(self, spec: ModelSpec, keep_alive: float) -> tuple[Resident, int]:
        """Make ``spec`` resident (loading it if needed) and take a reference.

        Returns (resident, load duration in ns).  Raises LoadError when it does
        not fit in the RAM budget (no automatic eviction, by design)."""
        start = time.monotonic()
        key = spec.name
        with self.cond:
            while True:
                self._reap_locked()
                r = self.resident.get(key)
                if r is None:
                    break
                if not r.loading:
                    # like Ollama: the latest request's keep_alive wins
                    r.refs += 1
                    r.keep_alive = keep_alive
                    return r, int((time.monotonic() - start) * 1e9)
                self.cond.wait()  # someone else is loading it
            s = self.settings
            budget = int(s.ram_mb * MIB)
            available = max(budget - self._used_bytes_locked(), 0)
            if s.faults.get("load_oom") or spec.size > available:
                self.counters["load_failures"] += 1
                raise LoadError(
                    f"model requires more system memory ({human_bytes(spec.size)}) "
                    f"than is available ({human_bytes(available)})"
                )
            r = Resident(spec=spec, refs=1, keep_alive=keep_alive)
            self.resident[key] = r
            c = self.counters
            c["max_resident"] = max(c["max_resident"], len(self.resident))
            load_seconds = s.load_seconds
        time.sleep(load_seconds)
        try:
            if self.backend is not None:
                self.backend.load(key)
        except Exception as exc:
            with self.cond:
                if self.resident.get(key) is r:
                    del self.resident[key]
                self.counters["load_failures"] += 1
                self.cond.notify_all()
            raise LoadError(f"llama runner process has terminated: {exc}") from exc
        with self.cond:
            if not r.failed:
                r.loading = False
                self.counters["loads"] += 1
            elif self.backend is not None:
                self.backend.unload(key)  # dropped (reset/delete) while it was loading
            self.cond.notify_all()
        return r, int((time.monotonic() - start) * 1e9)

    def release(self, r: Resident) -> None:
        """Drop a reference; when idle, unload now (keep_alive 0) or start the
        keep-alive clock."""
        with self.cond:
            r.refs = max(r.refs - 1, 0)
            if r.refs == 0 and self.resident.get(r.spec.name) is r:
                if r.keep_alive <= 0:
                    self._drop_locked(r.spec.name)
                else:
                    r.start_idle_clock()
            self.cond.notify_all()  # the reaper recomputes its next deadline

    def unload(self, spec: ModelSpec) -> None:
        """keep_alive 0 with an empty prompt: unload now, or once idle."""
        with self.cond:
            r = self.resident.get(spec.name)
            if r is None:
                return
            if r.refs == 0 and not r.loading:
                self._drop_locked(spec.name)
            else:
                r.keep_alive = 0

    # ------------------------------------------------------------ generations
    def begin_generation(self) -> None:
        """A generate/chat/embed request starts loading or producing tokens."""
        with self.cond:
            c = self.counters
            c["active_generations"] += 1
            c["max_concurrent_generations"] = max(c["max_concurrent_generations"], c["active_generations"])

    def count_generation(self, spec: ModelSpec, prompt: str) -> None:
        """Its model is loaded: it is a generation (counted per model and prompt)."""
        with self.cond:
            c = self.counters
            c["generations"] += 1
            c["generations_by_model"][spec.name] = c["generations_by_model"].get(spec.name, 0) + 1
            c["prompts"][prompt] = c["prompts"].get(prompt, 0) + 1

    def count_embed(self, spec: ModelSpec) -> None:
        """Its model is loaded: it is an embed request (counted per model; not a generation)."""
        with self.cond:
            c = self.counters
            c["embeds"] += 1
            c["embeds_by_model"][spec.name] = c["embeds_by_model"].get(spec.name, 0) + 1

    def end_generation(self) -> None:
        with self.cond:
            self.counters["active_generations"] -= 1

    def count_streamed(self, prompt: str, chunks: int) -> None:
        """Token chunks a streamed reply sent, per prompt (tests compare them with eval_count)."""
        with self.cond:
            streamed = self.counters["streamed_tokens"]
            streamed[prompt] = streamed.get(prompt, 0) + chunks

    # ------------------------------------------------------------ pull/delete
    def count_pull(self) -> None:
        with self.cond:
            self.counters["pulls"] += 1

    def install(self, spec: ModelSpec) -> None:
        with self.cond:
            self.settings.installed.add(spec.name)
            self.modified[spec.name] = datetime.now().astimezone().isoformat()

    def delete(self, name: str) -> bool:
        key = normalize_name(name)
        with self.cond:
            if key not in self.settings.installed:
                return False
            self.settings.installed.discard(key)
            self._drop_locked(key)
            self.counters["deletes"] += 1
            return True

    # --------------------------------------------------------------- control
    def snapshot(self) -> dict:
        with self.cond:
            self._reap_locked()
            out = copy.deepcopy(self.counters)
            out["resident"] = sorted(self.resident)
        backend = self.backend
        out["backend"] = getattr(backend, "name", "echo")
        out["backend_loaded"] = backend.loaded() if backend is not None else []
        return out

    def reset(self, state: bool = False) -> dict:
        with self.cond:
            active = self.counters["active_generations"]
            self.counters = _zero_counters()
            self.counters["active_generations"] = active
            self.counters["max_concurrent_generations"] = active
            if state:
                for key in list(self.resident):
                    self._drop_locked(key)
                self.counters["unloads"] = 0
                self.settings = copy.deepcopy(self._initial)
            self.counters["max_resident"] = len(self.resident)
            self.cond.notify_all()
            return self.settings.public()

    def configure(self, data: dict) -> dict:
        try:
            return self._configure(data)
        except (TypeError, ValueError, KeyError) as exc:
            if isinstance(exc, BadRequest):
                raise
            raise BadRequest(f"bad config: {exc}") from exc

    def _configure(self, data: dict) -> dict:
        if not isinstance(data, dict):
            raise BadRequest("config must be a JSON object")
        unknown = set(data) - {"load_seconds", "token_seconds", "pull_seconds", "ram_mb",
                               "installed", "registry", "extra_models", "faults"}
        if unknown:
            raise BadRequest(f"unknown config keys: {sorted(unknown)}")
        faults = data.get("faults")
        if faults is not None:
            if not isinstance(faults, dict) or set(faults) - FAULT_KEYS:
                raise BadRequest(f"faults must be an object with keys from {sorted(FAULT_KEYS)}")
        with self.cond:
            s = self.settings
            registry = dict(s.registry)
            installed = set(s.installed)
            for key in ("registry", "extra_models"):
                for name, value in parse_extra_models(data.get(key)).items():
                    spec = spec_from(name, value)
                    registry[spec.name] = spec
                    if value.get("installed"):
                        installed.add(spec.name)
            if "installed" in data:
                names = data["installed"]
                if isinstance(names, str):
                    names = [n for n in names.split(",") if n.strip()]
                installed = {normalize_name(n) for n in names}
                missing = sorted(installed - set(registry))
                if missing:
                    raise BadRequest(f"not in the registry: {missing}")
            numbers = {k: float(data[k]) for k in NUMERIC_SETTINGS if k in data}
            for key, value in numbers.items():
                setattr(s, key, value)
            s.registry, s.installed = registry, installed
            if faults is not None:
                s.faults = {k: v for k, v in faults.items() if v is not None and v is not False}
            self.cond.notify_all()
            return s.public()
