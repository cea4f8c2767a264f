"""Memory (PSS) of the web server and the worker, as the README runs them with default settings.

    .venv/bin/python bench/footprint.py [--rounds 3] [--no-write]

Starts the Ollama stand-in and the service (gunicorn + the worker, SQLite,
defaults), makes each kind of call a few times (generate with wait, status,
metrics, a pull), waits until the worker is idle, then reads the proportional
set size of every process of each (/proc/PID/smaps_rollup: a page shared by
several processes is split between them, so the sum counts it once). It does
so for the Procfile's worker (`manage.py worker`) and for plain
`manage.py qcluster`, each round on fresh services, and prints the median of
the rounds; the table goes between the footprint markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import procfs  # noqa: E402
from bench.report import publish  # noqa: E402
from tests.support.service import Service, poll  # noqa: E402
from tests.support.standin import Standin  # noqa: E402

WORKERS = {
    "`manage.py worker` (the Procfile's)": ("worker",),
    "`manage.py qcluster`": ("qcluster",),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    found = {label: {"web": [], "worker": [], "processes": []} for label in WORKERS}
    with Standin.start(backend="echo", load_seconds=0.05, token_seconds=0.001) as standin:
        for _ in range(args.rounds):
            for label, command in WORKERS.items():
                with start(standin, command) as service:
                    warm_up(service)
                    for name, process in (("web", service.web), ("worker", service.worker)):
                        per = [procfs.pss_megabytes([pid]) for pid in procfs.session_pids(process.pid)]
                        found[label][name].append(sum(per))
                        found[label]["processes"].append(len(per))
                        print(label, name, " + ".join(f"{mb:.1f}" for mb in per), f"= {sum(per):.1f} MB")
    text = report(args, found)
    publish("footprint", text, write=not args.no_write)
    return 0


def start(standin, command):
    class Variant(Service):
        WORKER_COMMAND = command

    return Variant.start(standin)


def warm_up(service):
    for _ in range(3):
        assert service.post("/generate", {"model": "llama3.2:1b", "prompt": "hi", "wait": True}).status_code == 200
        assert service.get("/status").status_code == 200
        assert service.session.get(service.url + "/metrics", timeout=30).status_code == 200
    service.post("/pull", {"model": "llama3.2:1b"})
    poll(lambda: not service.get("/status").json()["is_processing"], 60, message="the worker to go idle")
    time.sleep(3)  # acknowledgements, the pull's end


def report(args, found):
    lines = [
        "## Footprint: memory of web and worker",
        "",
        f"`.venv/bin/python bench/footprint.py`: PSS (/proc/PID/smaps_rollup) of every process of the web server "
        f"(gunicorn's arbiter and its one worker process, gthread) and of the worker (`manage.py worker`: one process, "
        f"django-q2's cluster as threads; `qcluster`: six processes), default settings, SQLite, after a few calls of "
        f"each kind and a pull, "
        f"idle; median of {args.rounds} rounds, each on fresh services; {os.cpu_count()} cores, "
        f"Python {platform.python_version()}.",
        "",
        "| worker command | web MB | worker MB | total MB |",
        "| --- | ---: | ---: | ---: |",
    ]
    for label, by in found.items():
        web, worker = statistics.median(by["web"]), statistics.median(by["worker"])
        lines.append(f"| {label} | {web:.1f} | {worker:.1f} | {web + worker:.1f} |")
    return "\n".join(lines + ["", NOTES])


# What was measured while choosing, with this script (medians of 2-3 rounds).
NOTES = """How the worker got there (`bench/footprint.py`, one round each unless said; web + worker):

| worker | processes | worker MB | total MB |
| --- | ---: | ---: | ---: |
| `qcluster` (django-q2 as it comes) | 6 | 125 | 197 |
| `manage.py worker` before: no URLconf check, `gc.freeze()` before the forks | 6 | 115-120 | 188-191 |
| the sentinel in the command's process, pusher and monitor as its threads, two worker processes | 3 | 90 | 163 |
| the whole cluster as threads of one process (kept) | 1 | 55 | 129 |

- Kept: django-q2's cluster as threads of one process (`llm/management/commands/worker.py`). Each of qcluster's
  six processes held 16-23 MB of its own (a forked Django process writes to the pages it inherited: reference
  counts, caches), and its tasks all wait on the network (a generation relays Ollama's stream, a pull its
  progress; the model's work is Ollama's), so threads serve as well. Two worker threads keep pulls apart from
  generations (`tests/e2e/test_worker_threads.py`). What a thread cannot do: be killed at django-q2's task
  timeout (ours end well before it: LLM_GENERATION_TIMEOUT, LLM_PULL_TIMEOUT, a timeout on every call to
  Ollama), and die alone (a crash stops the process; the work in hand is taken up at the next start, as after a
  SIGKILL).
- Kept from before: no URLconf system check in the worker (it would load DRF's views, drf-spectacular's schema
  generator, DRF's test client, Django's test tools, jinja2, PyYAML and psycopg into it: ~7 MB), and
  `gc.freeze()` at start (~4 MB while the cluster forked; with threads it only spares the collector the start-up
  objects).
- Web (gthread, measured as it is; another change moves it to an async server): gunicorn's arbiter ~13 MB and one
  Django process ~59-61 MB. Not kept: gunicorn's `preload_app` with `gc.freeze()` before the fork: web
  72 -> 82 MB (with one worker process there is nothing to share but the arbiter, which then holds a whole Django
  too). Tried, not kept: drf-spectacular loaded only at the first request for the schema (web 72 -> 66 MB), which
  lost the schema's annotations (`extend_schema` and the view extensions bind to the schema class on import);
  doing it right belongs to the doors' code, worth ~6 MB.
- Left in the worker: Django, DRF's settings, requests/urllib3, django-q2, prometheus_client (django-q2 imports
  it when installed) and sqlparse: ~54 MB RSS at start, most of it Django itself."""


if __name__ == "__main__":
    sys.exit(main())
