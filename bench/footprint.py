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
from bench.report import write_section  # noqa: E402
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
    print(text)
    if not args.no_write:
        write_section("footprint", text)
        print("\nWritten to docs/benchmarks.md")
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
        f"(gunicorn's arbiter and its one worker process) and of the worker (django-q2's qcluster, sentinel, pusher, "
        f"monitor and two worker processes), default settings, SQLite, after a few calls of each kind and a pull, "
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
NOTES = """What `manage.py worker` saves, and what was tried and not kept:

- Kept: the worker without the URLconf's system check (qcluster's start-up checks imported the URLconf, and with
  it DRF's views, drf-spectacular's schema generator, DRF's test client, Django's test tools, jinja2, PyYAML and
  psycopg, into the process that forks all the others): ~7 MB; `gc.freeze()` before the cluster forks, so a
  collection in a child leaves the pages it shares alone: ~4 MB more (worker 125 -> 118 -> 114 MB).
- Not kept: gunicorn's `preload_app` with `gc.freeze()` before the fork: web 72 -> 82 MB. With one worker process
  there is nothing to share but the arbiter, which then holds a whole Django too, and the worker writes to the
  pages it inherited anyway (reference counts).
- Tried, not kept: drf-spectacular loaded only at the first request for the schema. DRF builds every view's
  inspector from `DEFAULT_SCHEMA_CLASS` while its router reads the viewsets, so the URLconf loads drf-spectacular's
  `AutoSchema`, its generator, DRF's test client, Django's test tools and jinja2 (~19 MB RSS; `rest_framework.compat`
  adds PyYAML and psycopg, which stay). A stand-in schema class that gives drf-spectacular's once it is loaded, with
  the schema views loaded on demand, took the web from 72 to 66 MB PSS; but `extend_schema` and the view
  extensions of `llm/doors/schema.py` bind to that class when they are imported, and drf-spectacular matches the
  extensions before it builds the first inspector, so the schema lost its annotations (tests/security/test_schema.py
  failed). Doing it right means loading `llm/doors/schema.py` together with the generator (and for
  `check --deploy`), in the doors' code: left to its owner, worth ~6 MB.
- Where the rest goes: web, gunicorn's arbiter ~13 MB and one Django process ~59 MB; worker, six Django
  processes of 16-23 MB each (qcluster, sentinel, pusher, monitor, two workers). One worker process instead of
  two would save ~22 MB but make pulls wait behind generations."""


if __name__ == "__main__":
    sys.exit(main())
