"""A thousand waiting clients: memory, /status latency and completeness, against the stand-in.

    .venv/bin/python bench/waiters.py [--clients 1000] [--tokens 10] [--no-write]
    .venv/bin/python bench/waiters.py --overhead-only    # on any checkout: the idle sync generate alone

Starts the stand-in (one model, 1 ms a token) and the service as the Procfile runs it (one
gunicorn process with uvicorn's worker, the worker; fresh SQLite, or PostgreSQL when
DATABASE_URL says so; rate limits off, the queue bound at 2,000, LLM_MAX_OPEN_WAITS_PER_TOKEN
at its default of 100, so 10 tokens carry the 1,000 clients). Then:

- overhead: a 16-token generate with "wait": true, minus the same call straight to the
  stand-in, p50 (bench/run.py's measure, 60 calls), the queue idle;
- the crowd: the engine's lease is held (nothing runs), the clients connect at once (native
  wait, native stream, /v1 unstreamed and streamed, /ollama/ streamed, in turn), and once all
  are stored, /status is timed every 50 ms for --hold seconds and the web server's PSS taken
  (sum over gunicorn's arbiter and worker, /proc/PID/smaps_rollup), against its PSS before
  (after 10 clients of the five kinds, so that every door's code was in use once);
  then the lease goes and the queue drains: every client must get its whole answer, the
  stand-in must never have run two generations at once.

Prints a table and writes it, with the command, between the waiters markers of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import procfs  # noqa: E402
from bench.report import percentile, publish  # noqa: E402
from bench.run import sync_calls  # noqa: E402
from tests.support.service import Service, poll  # noqa: E402
from tests.support.standin import Standin  # noqa: E402

STANDIN = {"backend": "echo", "load_seconds": 0.2, "token_seconds": 0.001}
ENV = {
    "LLM_MAX_QUEUE_LENGTH": "2000",
    "LLM_GENERATE_WAIT_SECONDS": "900",
    **{name: "off" for name in ("LLM_RATE_LIMIT", "LLM_ADMIN_RATE_LIMIT", "LLM_GENERATION_RATE_LIMIT",
                                "LLM_ADMIN_GENERATION_RATE_LIMIT")},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tokens", type=int, default=10)
    parser.add_argument("--hold", type=float, default=10.0, help="seconds all clients are kept waiting")
    parser.add_argument("--calls", type=int, default=60, help="sync generate calls for the overhead")
    parser.add_argument("--web-threads", type=int, default=32, help="WEB_THREADS")
    parser.add_argument("--overhead-only", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this process holds every client's socket
    load_before = os.getloadavg()[0]
    with Standin.start(**STANDIN) as standin:
        with Service.start(standin, env=ENV, web_threads=args.web_threads) as service:
            overhead, _ = sync_calls(service, standin, args.calls)
            print(f"overhead p50 {1000 * overhead['p50']:.1f} ms (direct p50 {1000 * overhead['direct_p50']:.1f} ms)")
            if args.overhead_only:
                return 0
            result = crowd_run(service, standin, args)
    result["overhead"] = overhead
    result["load"] = (load_before, os.getloadavg()[0])
    table = report(args, result)
    publish("waiters", table, write=not args.no_write)
    return 0 if result["complete"] == args.clients else 1


def crowd_run(service, standin, args):
    from tests.support.waiters import KINDS, HeldQueue, crowd, threads_of_session, time_calls

    tokens = [service.manage("create_token", f"crowd {n}").strip().splitlines()[-1] for n in range(args.tokens)]
    web = procfs.session_pids(service.web.pid)
    warm_up = asyncio.run(crowd(service.url, tokens, 2 * len(KINDS)))  # every door's code in use once
    assert all(outcome.complete for outcome in warm_up), warm_up
    standin.reset()
    pss_before = procfs.pss_megabytes(web)
    held = HeldQueue(service)
    outcomes, admitted = [], {}
    began = time.monotonic()
    clients = threading.Thread(target=lambda: outcomes.extend(asyncio.run(crowd(service.url, tokens, args.clients))))
    clients.start()
    try:
        admission = asyncio.run(_status_until(service, lambda length: length >= args.clients, admitted))
        admitted["seconds"] = time.monotonic() - began
        pss_open, threads = procfs.pss_megabytes(web), threads_of_session(service.web.pid)
        stop = asyncio.Event()

        async def timed():
            async with httpx.AsyncClient(base_url=service.url, timeout=30, trust_env=False) as client:
                asyncio.get_running_loop().call_later(args.hold, stop.set)
                return await time_calls(client, "/api/v1/llm/status", {"X-API-Key": service.token}, stop)

        status = asyncio.run(timed())
        pss_open = max(pss_open, procfs.pss_megabytes(web))
    finally:
        drain_began = time.monotonic()
        held.let_go()
        clients.join(1800)
    drained = time.monotonic() - drain_began
    complete = sum(outcome.complete for outcome in outcomes)
    return {
        "complete": complete,
        "incomplete": [outcome for outcome in outcomes if not outcome.complete][:3],
        "stored": admitted.get("length"),
        "admission_seconds": admitted["seconds"],
        "admission_status": admission,
        "status": status,
        "pss_before": pss_before,
        "pss_open": pss_open,
        "pss_after": procfs.pss_megabytes(web),
        "threads": threads,
        "drained": drained,
        "max_concurrent": standin.counters()["max_concurrent_generations"],
        "database": "PostgreSQL" if service.database.postgres else "SQLite",
    }


async def _status_until(service, done, seen, timeout=600):
    """Time /status every 50 ms until `done(queue_length)`: [(seconds, status)] while clients arrive."""
    timings = []
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=service.url, timeout=30, trust_env=False) as client:
        while time.monotonic() < deadline:
            began = time.monotonic()
            response = await client.get("/api/v1/llm/status", headers={"X-API-Key": service.token})
            timings.append((time.monotonic() - began, response.status_code))
            seen["length"] = response.json()["queue_length"]
            if done(seen["length"]):
                return timings
            await asyncio.sleep(0.05)
    raise AssertionError(f"only {seen.get('length')} clients stored after {timeout} s\n{service.logs()}")


def _ms(timings, fraction=None):
    seconds = [took for took, _ in timings]
    value = statistics.median(seconds) if fraction is None else percentile(seconds, fraction)
    return f"{1000 * value:.0f} ms"


def report(args, r):
    command = "`.venv/bin/python bench/waiters.py" + (f" --clients {args.clients}" if args.clients != 1000 else "") + (
        f" --web-threads {args.web_threads}" if args.web_threads != 32 else "") + "`"
    status_ok = all(code == 200 for _, code in r["status"])
    p99 = percentile([took for took, _ in r["status"]], 0.99)
    growth = r["pss_open"] - r["pss_before"]
    checks = [
        (f"all {args.clients} answered completely, none lost", f"{r['complete']} complete", r["complete"] == args.clients),
        ("at most one generation at a time at the stand-in", f"{r['max_concurrent']} at most", r["max_concurrent"] <= 1),
        ("/status p99 < 100 ms while they are open, no timeout",
         f"p50 {_ms(r['status'])}, p99 {1000 * p99:.0f} ms over {len(r['status'])} calls"
         + ("" if status_ok else ", some failed"), p99 < 0.1 and status_ok),
        ("web PSS growth < 40 MB for them", f"{growth:+.1f} MB ({r['pss_before']:.0f} → {r['pss_open']:.0f} MB)",
         growth < 40),
        ("gateway overhead p50, idle sync generate", f"{1000 * r['overhead']['p50']:.1f} ms", True),
    ]
    lines = [
        "## Waiting clients: a thousand at once, no thread each",
        "",
        f"{command}: stand-in with one model, 1 ms a token; one gunicorn process with uvicorn's worker + the "
        f"worker as the Procfile runs them (rate limits off, queue bound 2,000), {r['database']}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load average {r['load'][0]:.1f} before, "
        f"{r['load'][1]:.1f} after. {args.clients} clients in turn: native wait, native stream, /v1 unstreamed, "
        f"/v1 streamed, /ollama/ streamed; {args.tokens} tokens, {args.clients // args.tokens} clients each "
        f"(LLM_MAX_OPEN_WAITS_PER_TOKEN: 100). The engine's lease is held until all are stored, then for "
        f"{args.hold:g} s while /status is timed every 50 ms; then the queue drains.",
        "",
        "| target | measured | met |",
        "| --- | --- | --- |",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, value, met in checks],
        "",
        f"- All {args.clients} connected and stored in {r['admission_seconds']:.1f} s; meanwhile /status answered "
        f"in p50 {_ms(r['admission_status'])}, p99 {_ms(r['admission_status'], 0.99)} "
        f"({len(r['admission_status'])} calls): each arriving call's sync part (authentication, validation, "
        "storing) queues on the waiters' pool (LLM_WAIT_DB_THREADS), not on the web threads, but /status shares "
        "the two cores with them.",
        f"- Threads in the web server with all of them waiting: {r['threads']} (gunicorn's arbiter and worker: "
        f"the loop, which reads the wake-ups too, and the threads the pools started of WEB_THREADS={args.web_threads} "
        "and LLM_WAIT_DB_THREADS=4). Before (gthread, 32 threads), "
        "the 33rd waiting client left /status timing out (issue 12).",
        f"- The queue drained in {r['drained']:.1f} s ({args.clients / r['drained']:.0f} generations/s, each "
        f"through the worker); web PSS after: {r['pss_after']:.0f} MB.",
    ]
    if growth >= 40:
        lines += [
            f"- PSS target missed by {growth - 40:.0f} MB: ~{1024 * growth / args.clients:.0f} KB a waiting client, "
            "and the web server keeps it once they are gone (PSS after): the high-water mark of Python's and "
            "malloc's heaps. A tracemalloc snapshot of the web process with 1,000 waiting finds ~38 KB of live Python "
            "objects a client, ~220 of them for the collector: uvicorn's connection (protocol, parser, transport, "
            "flow control) ~9 KB, Django's ASGI request and handler (META, body file, the two tasks it makes per "
            "request, the middleware chain's coroutines while an unstreamed answer waits) ~10 KB, DRF's request, "
            "view and token ~3 KB, the stored request's row ~2 KB, asyncio/asgiref contexts and futures ~4 KB. "
            "WEB_THREADS=8 instead of 32 and MALLOC_ARENA_MAX=2 changed the growth by under 1 MB. Before "
            "(gthread), 400 clients on 500 threads took 143 MB more (issue 12).",
        ]
    else:
        lines += [
            f"- ~{1024 * growth / args.clients:.0f} KB a waiting client (~53 KB before this change). A waiting "
            "client's request is let go before it waits: the web server (llmsite/asgi.py) awaits the answer once "
            "the view, the middleware and Django's request are done with, keeping the request's id and status, its "
            "wake-up subscription, its place and the view without its DRF request (tracemalloc, 400 clients: "
            "41.7 -> 26.3 KB of live Python objects a client); htmx's middleware no longer ties each door request "
            "to itself (a cycle only the collector freed); and at most 32 calls with a body are worked on at once "
            "(once their body is read), so a burst of a thousand leaves the heap's high-water mark of 32 calls in "
            "flight, not of a thousand (400 waits: 15.3 -> 12.1 MB). What is left a client is mostly uvicorn's "
            "connection (~10 KB: its parser, two asyncio Events, a deque); h11 for httptools and asyncio for "
            "uvloop measured no smaller.",
        ]
    if p99 >= 0.1:
        lines += [
            "- /status p99 over 100 ms: see the load average. What stops the one event loop with a thousand "
            "clients waiting: a full garbage collection (~220k objects made by the waiting requests, ~200 ms of "
            "CPU on this box even with gc.freeze() of what was loaded at start), and /status's own two calls to "
            "Ollama (tags, ps) on a web thread.",
        ]
    if r["incomplete"]:
        lines += ["", f"Incomplete, the first: {r['incomplete']}"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
