"""Lean: the service's memory, overhead, CPU per request and idle CPU, beside the LiteLLM proxy.

    .venv/bin/python bench/lean.py [--rounds 300] [--idle-seconds 60] [--with-litellm] [--no-write]

Starts the Ollama stand-in (echo text, 1 ms a token, 16 tokens a call) and the
service as the Procfile runs it (gunicorn + `manage.py worker`, SQLite, default
settings but the per-token rate limits); with --with-litellm, also LiteLLM's
proxy in front of the same stand-in (`ollama_chat/` models), installed from PyPI
into its own virtualenv (var/litellm-venv, made on first use; it is large and
never one of the project's requirements). Then, in rounds, one call of each:

- direct /api/generate and /api/chat to the stand-in (stream false);
- the service's native `POST /api/v1/llm/generate` (wait) and `/v1/chat/completions`;
- LiteLLM's `/v1/chat/completions`.

Overhead = p50 of a path minus p50 of the direct call it wraps. CPU per request =
user + system time of every process of the service (or of LiteLLM) over the
rounds, less what they burn idle, divided by their calls. Idle CPU = their CPU
over --idle-seconds with nothing to do, as % of one core. Memory = PSS of every
process (/proc/PID/smaps_rollup) after the rounds. Writes the table, with this
command, between the lean markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import procfs  # noqa: E402
from bench.report import publish  # noqa: E402
from tests.support.service import API, Service, free_port, poll  # noqa: E402
from tests.support.standin import Standin  # noqa: E402

MODEL = "llama3.2:1b"
PROMPT = "Explain in one paragraph why a queue should batch work by model."
MESSAGES = [{"role": "user", "content": PROMPT}]
TOKENS = 16
SERVICE_ENV = {name: "off" for name in ("LLM_RATE_LIMIT", "LLM_ADMIN_RATE_LIMIT", "LLM_GENERATION_RATE_LIMIT",
                                        "LLM_ADMIN_GENERATION_RATE_LIMIT")}
LITELLM_VENV = ROOT / "var" / "litellm-venv"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--with-litellm", action="store_true", help="install LiteLLM's proxy (own venv) and compare")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    python = install_litellm() if args.with_litellm else None
    load = [os.getloadavg()[0]]
    with Standin.start(backend="echo", load_seconds=0.05, token_seconds=0.001) as standin, \
            Service.start(standin, env=SERVICE_ENV) as service:
        litellm = LiteLLM.start(python, standin) if python else None
        try:
            found = measure(args, standin, service, litellm)
        finally:
            if litellm:
                litellm.stop()
    load.append(os.getloadavg()[0])
    text = report(args, found, load)
    publish("lean", text, write=not args.no_write)
    return 0


def measure(args, standin, service, litellm):
    session = requests.Session()
    session.trust_env = False
    key = {"X-API-Key": service.token}
    options = {"num_predict": TOKENS}
    calls = {
        "direct generate": lambda: session.post(standin.url + "/api/generate", timeout=60, json={
            "model": MODEL, "prompt": PROMPT, "stream": False, "options": options}),
        "direct chat": lambda: session.post(standin.url + "/api/chat", timeout=60, json={
            "model": MODEL, "messages": MESSAGES, "stream": False, "options": options}),
        "service generate": lambda: session.post(service.url + API + "/generate", headers=key, timeout=60, json={
            "model": MODEL, "prompt": PROMPT, "wait": True, "options": {"max_tokens": TOKENS}}),
        "service chat": lambda: session.post(service.url + "/v1/chat/completions", headers=key, timeout=60, json={
            "model": MODEL, "messages": MESSAGES, "max_tokens": TOKENS}),
    }
    if litellm:
        calls["litellm chat"] = lambda: session.post(litellm.url + "/v1/chat/completions", headers=litellm.headers,
                                                     timeout=60, json={
            "model": MODEL, "messages": MESSAGES, "max_tokens": TOKENS})
    parts = {"web": procfs.session_pids(service.web.pid), "worker": procfs.session_pids(service.worker.pid)}
    groups = {"service": parts["web"] + parts["worker"]}
    if litellm:
        groups["litellm"] = procfs.session_pids(litellm.process.pid)
    for _ in range(3):  # warm-up: the model loads, connections open, lazy imports happen
        for call in calls.values():
            assert call().status_code == 200
    idle = procfs.idle_percent(groups, args.idle_seconds)
    times = {name: [] for name in calls}
    cpu = {group: 0.0 for group in groups}
    split = {part: 0.0 for part in parts}  # the service's CPU, web and worker apart
    started = time.monotonic()
    for _ in range(args.rounds):
        for name, call in calls.items():
            group = name.split()[0]
            before = procfs.cpu_seconds(groups[group]) if group in groups else 0
            before_parts = {part: procfs.cpu_seconds(pids) for part, pids in parts.items()}
            began = time.perf_counter()
            response = call()
            times[name].append(time.perf_counter() - began)
            assert response.status_code == 200, f"{name}: {response.status_code} {response.text[:300]}"
            if group in groups:
                time.sleep(0.02)  # the worker's acknowledgement and the like belong to this call
                cpu[group] += procfs.cpu_seconds(groups[group]) - before
                if group == "service":
                    for part, pids in parts.items():
                        split[part] += procfs.cpu_seconds(pids) - before_parts[part]
    elapsed = time.monotonic() - started
    memory = {group: procfs.pss_megabytes(pids) for group, pids in groups.items()}
    memory["web"] = procfs.pss_megabytes(procfs.session_pids(service.web.pid))
    memory["worker"] = procfs.pss_megabytes(procfs.session_pids(service.worker.pid))
    per_call = {}
    for group in groups:
        count = sum(len(times[name]) for name in times if name.startswith(group))
        # less what the group burns idle over the same stretch
        per_call[group] = max(cpu[group] - idle[group] / 100 * elapsed, 0) / count
    service_calls = sum(len(times[name]) for name in times if name.startswith("service"))
    per_call.update({part: used / service_calls for part, used in split.items()})  # idle not taken off
    p50 = {name: statistics.median(values) for name, values in times.items()}
    return {"p50": p50, "memory": memory, "idle": idle, "cpu": per_call,
            "processes": {group: len(pids) for group, pids in groups.items()}}


def report(args, found, load):
    p50, memory, idle, cpu = found["p50"], found["memory"], found["idle"], found["cpu"]
    overhead = {
        "native generate": p50["service generate"] - p50["direct generate"],
        "chat": p50["service chat"] - p50["direct chat"],
    }
    litellm = "litellm" in memory
    if litellm:
        overhead["litellm chat"] = p50["litellm chat"] - p50["direct chat"]
    command = "bench/lean.py" + (" --with-litellm" if litellm else "") + (
        f" --rounds {args.rounds}" if args.rounds != 300 else "") + (
        f" --idle-seconds {args.idle_seconds:g}" if args.idle_seconds != 60 else "")

    def them(value, unit, digits=1):
        return f"{value:.{digits}f} {unit}" if litellm else "not run"

    def ratio(ours, theirs):
        return f"{ours / theirs:.2f}" if litellm and theirs > 0 else ""

    lo = overhead.get("litellm chat", 0)
    rows = [
        ("overhead p50, native sync generate (minus the direct call)", f"{1000 * overhead['native generate']:.1f} ms",
         them(1000 * lo, "ms"), ratio(overhead["native generate"], lo)),
        ("overhead p50, `/v1/chat/completions` (minus the direct call)", f"{1000 * overhead['chat']:.1f} ms",
         them(1000 * lo, "ms"), ratio(overhead["chat"], lo)),
        (f"PSS, all processes (web {memory['web']:.0f} MB, worker {memory['worker']:.0f} MB)",
         f"{memory['service']:.0f} MB", them(memory.get("litellm", 0), "MB", 0),
         ratio(memory["service"], memory.get("litellm", 0))),
        (f"CPU per request (web {1000 * cpu['web']:.1f} ms, worker {1000 * cpu['worker']:.1f} ms)",
         f"{1000 * cpu['service']:.1f} ms", them(1000 * cpu.get("litellm", 0), "ms"),
         ratio(cpu["service"], cpu.get("litellm", 0))),
        (f"idle CPU, % of one core (over {args.idle_seconds:g} s)", f"{idle['service']:.2f}",
         them(idle.get("litellm", 0), "", 2).strip(), ratio(idle["service"], idle.get("litellm", 0))),
    ]
    targets = [
        ("PSS web + worker < 150 MB", f"{memory['service']:.0f} MB", memory["service"] < 150),
        ("idle CPU <= 0.2% of a core", f"{idle['service']:.2f}%", idle["service"] <= 0.2),
    ]
    if litellm:
        targets += [
            ("overhead p50 at most half of LiteLLM's", f"{overhead['chat'] / lo:.2f} (chat), "
             f"{overhead['native generate'] / lo:.2f} (native)", max(overhead["chat"], overhead["native generate"]) <= lo / 2),
            ("CPU per request at most half of LiteLLM's", f"{cpu['service'] / cpu['litellm']:.2f}",
             cpu["service"] <= cpu["litellm"] / 2),
        ]
    lines = [
        "## Lean: memory, overhead and CPU" + (", against the LiteLLM proxy" if litellm else ""),
        "",
        f"`.venv/bin/python {command}`: the stand-in (echo text, 1 ms a token, {TOKENS} tokens a call) behind the "
        f"service (gunicorn + `manage.py worker`, SQLite, default settings but the rate limits)"
        + (" and behind LiteLLM's proxy (its own virtualenv, `ollama_chat/` models, no database)" if litellm else "")
        + f"; {args.rounds} rounds of one call per path, interleaved; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; load average {load[0]:.1f} before, {load[1]:.1f} after. "
        f"Direct p50: generate {1000 * p50['direct generate']:.1f} ms, chat {1000 * p50['direct chat']:.1f} ms.",
        "",
        "| figure | this service | LiteLLM | ratio |",
        "| --- | ---: | ---: | ---: |",
        *[f"| {name} | {ours} | {theirs} | {r} |" for name, ours, theirs, r in rows],
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in targets],
    ]
    return "\n".join(lines + ["", NOTES])


# What was measured while choosing (this script, bench/footprint.py, bench/relay.py, /proc), and why the
# misses are missed.
NOTES = """What changed for these figures (issue 16), and what is still short:

- Memory: the worker is django-q2's cluster as threads of one process (`manage.py worker`): 55 MB where qcluster's
  six processes took 120-128 (`bench/footprint.py`, "Footprint"); the web server is one uvicorn process under
  gunicorn's arbiter.
- Idle CPU: the worker's sentinel and its look at the task table run every 5 s (`Q_POLL_SECONDS`, the sentinel's
  `guard_cycle`), uvicorn ticks once a second (`llmsite/uvicorn_worker.py`). Runs on a quiet box gave 0.10%, 0.13%
  and 0.20% of a core: within the target, at its edge in the noisiest of 60 s of a box that is not idle.
- Per request, in the worker: a generation task runs requests back to back and lingers
  LLM_WORKER_LINGER_SECONDS for the next one (llm/queue/linger.py), and its connection to Ollama is kept.
  Profiled (`bench/worker_cpu.py --profile`), the ORM's building of each statement cost more than SQLite's
  running it, so the statements the worker runs for every request are written once (llm/models/rows.py): the
  claim is one UPDATE ... RETURNING that reads the row as it takes it, the node's row, a request's end and its
  token's usage, the engine lease's take and release; with one request waiting the policy reads no window of a
  hundred rows. A call to Ollama is prepared and handed to the session's adapter (`Session.request` merged
  cookies, hooks and settings anew, ~0.5 ms), the run directory is scanned rather than globbed (a glob compiled
  a pattern per request), and the lease renewer is not woken by every lease taken. Worker alone (300 requests,
  alternating, load ~8): 14.8-15.9 -> 6.3-6.6 ms a request; here 12.6 -> 7.8 -> 6.1 ms (the last two stops).
- Per request, in the web server: a token found by its key is trusted for LLM_TOKEN_CACHE_SECONDS (its lookup cost
  0.5-1.4 ms; README, "Roles and tokens", for revocation); one serializer instance checks every call (DRF copies
  every declared field for each new instance: generate's checks 1.5 -> 0.2 ms); the queue's count, the INSERT
  and a waiting client's reads of its row are written once; the answer is rendered in the hop that reads the
  finished row, and the request is let go before the wait (llmsite/asgi.py, "Waiting clients"). Here 12.3 ->
  9.5 -> 6.0 ms (the last two stops). What is left: Django's request cycle under ASGI and DRF's (authentication, throttling, rendering),
  the transaction behind the queue's gate, and the hops between the event loop and the threads.
- Overhead and CPU per request, at most half of LiteLLM's: met in this run. LiteLLM's own figures move from one
  release to the next, with the machine and with the load (its overhead was 22-24 ms when the issue was filed,
  36.5 ms, then 55 ms and here 40 ms with litellm 1.108.7), so read the service's own too: overhead p50
  23.1 -> 14.4 -> 9.6 ms and CPU 24.7 -> 17.1 -> 12.0 ms a request over the last three runs. The issue's "about
  11 ms" is reached; its 5 ms goal is not: the call crosses two processes and the database four times (store,
  claim, end, read).
- The relay: see "Relay" (`bench/relay.py`)."""


# --- LiteLLM, in a virtualenv of its own ------------------------------------------


def install_litellm():
    """The virtualenv's python, with litellm[proxy] from PyPI; made once, under var/."""
    python = LITELLM_VENV / "bin" / "python"
    if not _imports_proxy(python):
        print(f"Installing litellm[proxy] into {LITELLM_VENV} (once; a few minutes)...", flush=True)
        venv.create(LITELLM_VENV, with_pip=True)
        result = subprocess.run([str(python), "-m", "pip", "install", "-q", "litellm[proxy]"],
                                capture_output=True, text=True)
        if result.returncode != 0 or not _imports_proxy(python):
            raise SystemExit(f"Could not install litellm[proxy] into {LITELLM_VENV}:\n{result.stderr[-3000:]}")
    return python


def _imports_proxy(python):
    return python.exists() and subprocess.run(
        [str(python), "-c", "import litellm.proxy.proxy_cli"], capture_output=True).returncode == 0


class LiteLLM:
    def __init__(self, process, url, folder):
        self.process, self.url, self.folder = process, url, folder

    @classmethod
    def start(cls, python, standin):
        folder = Path(tempfile.mkdtemp(prefix="litellm-"))
        config = folder / "config.yaml"
        config.write_text(
            "model_list:\n"
            f"  - model_name: \"{MODEL}\"\n"
            "    litellm_params:\n"
            f"      model: \"ollama_chat/{MODEL}\"\n"
            f"      api_base: \"{standin.url}\"\n"
            "litellm_settings:\n"
            "  telemetry: false\n"
            "  drop_params: true\n"
        )
        port = free_port()
        key = "sk-" + secrets.token_hex(16)  # it refuses to start without one; the service checks a key too
        env = {**os.environ, "LITELLM_MASTER_KEY": key, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False",
               "NO_PROXY": "127.0.0.1,localhost"}
        code = "import sys; from litellm.proxy.proxy_cli import run_server; sys.argv[0] = 'litellm'; run_server()"
        log = open(folder / "litellm.log", "ab")
        process = subprocess.Popen(
            [str(python), "-c", code, "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", "1"],
            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        proxy = cls(process, f"http://127.0.0.1:{port}", folder)
        proxy.headers = {"Authorization": f"Bearer {key}"}
        poll(proxy._answers, 180, message=f"LiteLLM's proxy to answer (log: {folder / 'litellm.log'})")
        return proxy

    def _answers(self):
        if self.process.poll() is not None:
            raise SystemExit(f"LiteLLM's proxy exited: {(self.folder / 'litellm.log').read_text()[-3000:]}")
        try:
            return requests.get(self.url + "/health/liveliness", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()


if __name__ == "__main__":
    sys.exit(main())
