"""A fleet of one-model boxes against one box: the same 240 requests over 4 models.

    .venv/bin/python bench/fleet.py [--seed 7] [--requests 240] [--no-write]

Starts Ollama stand-ins (a model load takes 2 s, a token 10 ms) and the service
as the README runs it (gunicorn + the worker, fresh SQLite database, or PostgreSQL
when DATABASE_URL says so; rate limits off: one token sends everything), then:

- one node: LLM_NODES unset, OLLAMA_HOST at one stand-in;
- three nodes: LLM_NODES=a=...,b=...,c=... at three stand-ins;
- three nodes, one killed: as above, node c SIGKILLed once a third of the requests
  have finished, and started again 5 s later on the same port.

Each run: 16 clients post the requests ("wait": false; seeded random models and
8-40 tokens each) as fast as they are answered, then every request is followed to
its end. Makespan is first stored to last finished (the service's timestamps);
loads, the most models resident at once and the most generations at once are the
stand-ins' own counters, per node; /api/ps calls are the stand-ins' count of them.
Prints a table and writes it, with the command, to docs/benchmarks.md ("fleet").
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import publish  # noqa: E402
from tests.support.fleet import Fleet  # noqa: E402
from tests.support.service import API, Service, poll  # noqa: E402

MODELS = ["llama3.2:3b", "qwen3:4b", "gemma3:4b", "phi4:mini"]
STANDIN = {"backend": "echo", "load_seconds": 2.0, "token_seconds": 0.01}
CLIENTS = 16
SERVICE_ENV = {
    "LLM_NODE_RECHECK_MAX_SECONDS": "5",
    **{name: "off" for name in ("LLM_RATE_LIMIT", "LLM_ADMIN_RATE_LIMIT", "LLM_GENERATION_RATE_LIMIT",
                                "LLM_ADMIN_GENERATION_RATE_LIMIT")},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--requests", type=int, default=240)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    jobs = [(rng.choice(MODELS), rng.randint(8, 40)) for _ in range(args.requests)]

    one = run(["default"], jobs)
    three = run(["a", "b", "c"], jobs)
    killed = run(["a", "b", "c"], jobs, kill="c")
    table = report(args, jobs, one, three, killed)
    publish("fleet", table, write=not args.no_write)
    return 0


def run(names, jobs, kill=None):
    with Fleet.start(names, **STANDIN) as fleet:
        env = {**SERVICE_ENV, **(fleet.env() if len(names) > 1 else {})}
        with Service.start(fleet.first, env=env) as service:
            service.wait_for_worker()
            ids = post_all(service, jobs)
            killer = threading.Thread(target=kill_and_revive, args=(service, fleet, kill, ids, len(jobs) // 3))
            if kill:
                killer.start()
            ends = [follow(service, request_id) for request_id in ids]
            if kill:
                killer.join()
            counters = fleet.counters()
            before = getattr(killer, "before", None)
            if before:  # the killed node's counters: its first life's worst, and its loads over both
                after = counters[kill]
                counters[kill] = {**after, "loads": before["loads"] + after["loads"],
                                  "max_resident": max(before["max_resident"], after["max_resident"]),
                                  "max_concurrent_generations": max(before["max_concurrent_generations"],
                                                                    after["max_concurrent_generations"]),
                                  "requests": {"/api/ps": before["requests"].get("/api/ps", 0)
                                               + after["requests"].get("/api/ps", 0)}}
            return {
                "nodes": len(names),
                "ends": ends,
                "makespan": (max(when(end["finished_at"]) for end in ends)
                             - min(when(end["created_at"]) for end in ends)).total_seconds(),
                "counters": counters,
                "killed": kill,
                "rejoined": getattr(killer, "rejoined", None),
            }


def post_all(service, jobs):
    sessions = threading.local()

    def post(job):
        model, tokens = job
        body = {"model": model, "prompt": f"Say {tokens} words about queues.", "wait": False,
                "options": {"max_tokens": tokens}}
        if not hasattr(sessions, "session"):
            sessions.session = requests.Session()
            sessions.session.headers["X-API-Key"] = service.token
        response = sessions.session.post(service.url + API + "/generate", json=body, timeout=120)
        response.raise_for_status()
        return response.json()["request_id"]

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(post, jobs))


def kill_and_revive(service, fleet, name, ids, after):
    """Kill node `name` once `after` requests have ended; start it again 5 s later; note how
    long until /status sees it answer."""
    me = threading.current_thread()
    poll(lambda: finished_count(service, ids) >= after, 600, interval=0.2, message=f"{after} requests to end")
    me.before = fleet[name].counters()
    fleet.kill(name)
    time.sleep(5)
    fleet.revive(name, **STANDIN)
    started = time.monotonic()
    index = list(fleet.standins).index(name)
    poll(lambda: service.get("/status").json()["nodes"][index]["reachable"], 60, interval=0.5,
         message=f"{name} to rejoin")
    me.rejoined = time.monotonic() - started


def finished_count(service, ids):
    sample = ids[::8]  # every eighth, to keep the checking light
    ended = sum(service.get(f"/requests/{request_id}").json()["status"] not in ("queued", "running")
                for request_id in sample)
    return ended * 8


def follow(service, request_id, timeout=900):
    def ended():
        body = service.get(f"/requests/{request_id}").json()
        return body if body["status"] not in ("queued", "running") else None

    return poll(ended, timeout, interval=0.2, message=f"{request_id} to end")


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def report(args, jobs, one, three, killed):
    models = len({model for model, _ in jobs})
    ratio = one["makespan"] / three["makespan"]
    loads3 = sum(seen["loads"] for seen in three["counters"].values())
    lines = [
        f"`.venv/bin/python bench/fleet.py --seed {args.seed} --requests {args.requests}` "
        f"({len(jobs)} requests over {models} models, 8-40 tokens each, seeded; stand-ins: 2 s a load, "
        "10 ms a token; 16 clients post them all, then each is followed to its end; seconds).",
        "",
        "| run | nodes | makespan | loads | most resident per node | most generations at once per node | "
        "/api/ps calls | done | failed (with a reason) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in (("one node", one), ("three nodes", three), ("three nodes, c killed", killed)):
        counters = result["counters"].values()
        done = sum(end["status"] == "done" for end in result["ends"])
        failed = sum(end["status"] == "failed" and bool(end.get("error")) for end in result["ends"])
        lines.append(
            f"| {name} | {result['nodes']} | {result['makespan']:.1f} | {sum(c['loads'] for c in counters)} | "
            f"{max(c['max_resident'] for c in counters)} | {max(c['max_concurrent_generations'] for c in counters)} | "
            f"{sum(c['requests'].get('/api/ps', 0) for c in counters)} | {done} | {failed} |"
        )
    stuck = sum(end["status"] not in ("done", "failed") or (end["status"] == "failed" and not end.get("error"))
                for end in killed["ends"])
    checks = [
        ("makespan: one node / three nodes >= 2.5", f"{ratio:.2f}x", ratio >= 2.5),
        ("loads on three nodes <= models + 2", f"{loads3} <= {models + 2}", loads3 <= models + 2),
        ("per node at most one model resident and one generation", "stand-in counters",
         all(c["max_resident"] <= 1 and c["max_concurrent_generations"] <= 1
             for result in (one, three, killed) for c in result["counters"].values())),
        ("node killed: every request done or failed with a reason", f"{stuck} stuck or without a reason", stuck == 0),
    ]
    if killed["rejoined"] is not None:
        checks.append(("killed node answers again -> /status sees it within 30 s",
                       f"{killed['rejoined']:.1f} s", killed["rejoined"] <= 30))
    lines += ["", "| target | measured | met |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {'yes' if ok else '**no**'} |" for name, value, ok in checks]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
