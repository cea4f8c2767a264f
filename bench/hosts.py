"""Hosts: the task broker across two worker hosts, django-q2's ORM broker with our wake-ups against its Redis broker.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/hosts.py \
        [--rounds 30] [--idle-seconds 60] [--no-redis] [--no-write]

On PostgreSQL (a new database per run, as the e2e tests make), one stand-in (50 ms
loads, 1 ms tokens) and, for each broker, the web server alone with a run directory
of its own plus two worker groups standing for two more hosts (own LLM_HOST_ID, own
run directory: no Unix-socket wake-up reaches them from the web server):

- ORM + NOTIFY: WakingORM, LLM_WAKEUPS=postgres (what we ship for several hosts);
- ORM, sockets only: WakingORM, LLM_WAKEUPS=unix (the one-box default, here polled: Q_POLL_SECONDS=5);
- Redis: django-q2's Redis broker (BLPOP), LLM_WAKEUPS=postgres for the results. Needs Redis on
  BENCH_REDIS_URL (redis://127.0.0.1:6379/0) and the `redis` package, which this script installs
  with `pip install --target /tmp/llm-bench-redis` (never into the project).

Dispatch = started_at - created_at of each request, stored through the web server and
started by a worker on another host (one request at a time, --rounds of them, after 3 to
warm up). Idle = CPU of both worker groups over --idle-seconds with nothing to do, as % of
one core (Redis's own server not counted). Writes the table, with this command, between the
hosts markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import procfs  # noqa: E402
from bench.report import write_section  # noqa: E402
from tests.support.service import Service  # noqa: E402
from tests.support.standin import Standin  # noqa: E402

REDIS_PACKAGES = Path("/tmp/llm-bench-redis")
COMMON = {"LLM_RATE_LIMIT": "off", "LLM_GENERATION_RATE_LIMIT": "off", "LLM_SAFETY_NET_MINUTES": "10"}
BROKERS = {
    "ORM + NOTIFY": {"LLM_WAKEUPS": "postgres"},
    "ORM, sockets only (polled)": {"LLM_WAKEUPS": "unix"},
    "Redis (BLPOP) + NOTIFY": {"LLM_WAKEUPS": "postgres", "DJANGO_SETTINGS_MODULE": "bench.hosts_redis"},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--no-redis", action="store_true", help="ORM brokers only")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        parser.error("set DATABASE_URL to a PostgreSQL server: wake-ups between hosts need it")
    brokers = {name: env for name, env in BROKERS.items() if not (args.no_redis and "Redis" in name)}
    found = {}
    load = [os.getloadavg()[0]]
    with Standin.start(load_seconds=0.05, token_seconds=0.001) as standin:
        for name, env in brokers.items():
            if "Redis" in name:
                env = {**env, **install_redis()}
            found[name] = measure(standin, {**COMMON, **env}, args)
            print(name, found[name], flush=True)
    load.append(os.getloadavg()[0])
    text = report(args, found, load)
    print(text)
    if not args.no_write:
        write_section("hosts", text)
        print("\nWritten to docs/benchmarks.md")
    return 0


def install_redis():
    if not (REDIS_PACKAGES / "redis").exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", str(REDIS_PACKAGES), "redis"],
                       check=True)
    return {"PYTHONPATH": str(REDIS_PACKAGES), "BENCH_CLUSTER_NAME": f"llm-bench-{uuid.uuid4().hex[:8]}"}


def measure(standin, env, args):
    with Service.start(standin, env=env, worker=False) as service:
        for host in ("b1", "b2"):
            service.start_other_host_worker(host)
        for host in ("b1", "b2"):
            service.wait_for_worker(host=host)
        ids = [generate(service, f"warm {i}") for i in range(3)]
        ids = [generate(service, f"round {i}") for i in range(args.rounds)]
        dispatch = dispatch_seconds(service, ids)
        pids = [pid for worker in service.others for pid in procfs.session_pids(worker.pid)]
        time.sleep(3)  # the last task's acknowledgement and the like
        before = procfs.cpu_seconds(pids)
        time.sleep(args.idle_seconds)
        idle = 100 * (procfs.cpu_seconds(pids) - before) / args.idle_seconds
    return {"p50": statistics.median(dispatch), "p95": quantile(dispatch, 0.95), "max": max(dispatch), "idle": idle}


def generate(service, prompt):
    body = {"model": "llama3.2:1b", "prompt": prompt, "wait": True, "options": {"max_tokens": 4}}
    response = service.post("/generate", body)
    assert response.status_code == 200, response.text
    return response.json()["request_id"]


def dispatch_seconds(service, ids):
    import psycopg

    with psycopg.connect(service.database.url.replace("postgres://", "postgresql://", 1)) as conn:
        rows = conn.execute("SELECT EXTRACT(EPOCH FROM started_at - created_at) FROM llm_generationrequest"
                            " WHERE request_id = ANY(%s)", [ids]).fetchall()
    assert len(rows) == len(ids), rows
    return [float(seconds) for (seconds,) in rows]


def quantile(values, q):
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def report(args, found, load):
    command = "DATABASE_URL=postgres://... .venv/bin/python bench/hosts.py " + " ".join(
        [f"--rounds {args.rounds}", f"--idle-seconds {args.idle_seconds:g}"] + (["--no-redis"] if args.no_redis else []))
    lines = [
        "## Hosts: the task broker across two worker hosts",
        "",
        f"`{command}` ({time.strftime('%Y-%m-%d')}, 2 cores shared with other jobs, load average "
        f"{load[0]:.1f} -> {load[1]:.1f}). PostgreSQL; the web server alone in its run directory, two worker "
        "groups standing for two other hosts; one request at a time. Dispatch: stored -> started "
        "(started_at - created_at). Idle: both worker groups' CPU, % of one core (Redis's server not counted).",
        "",
        "| broker | dispatch p50 | p95 | max | idle CPU |",
        "|---|---|---|---|---|",
    ]
    for name, figures in found.items():
        lines.append(f"| {name} | {figures['p50'] * 1000:.0f} ms | {figures['p95'] * 1000:.0f} ms | "
                     f"{figures['max'] * 1000:.0f} ms | {figures['idle']:.2f}% |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
