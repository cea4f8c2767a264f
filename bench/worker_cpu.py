"""The worker's CPU per request, alone: its path in one process, without the web server's noise.

    .venv/bin/python bench/worker_cpu.py [--requests 300] [--profile] [--top 40]

Starts the stand-in (echo text, 1 ms a token, 16 tokens a call), migrates a fresh
SQLite database, and runs a generation task as `manage.py worker` runs it
(llm/queue/linger.py: requests back to back, lingering for the next) in a thread.
The main thread plays the web server: it stores a request, wakes the task as the
web does (tasks.wake_generation_worker) and waits for the request's end. Prints
the task thread's CPU a request (its own clock: the main thread is not counted),
the lease renewer's, and the p50 from the wake-up to the request stored as done.
With --profile, a cProfile of the task thread (warm-up included) timed by its CPU clock,
not the wall's.
Only prints: compare two commits by running it on each, alternately.
"""

from __future__ import annotations

import argparse
import cProfile
import logging
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.standin import Standin  # noqa: E402

WARM_UP = 10
PROMPT = "Explain in one paragraph why a queue should batch work by model."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the task thread (CPU time)")
    parser.add_argument("--top", type=int, default=40, help="lines of the profile")
    args = parser.parse_args(argv)
    with Standin.start(backend="echo", load_seconds=0.05, token_seconds=0.001) as standin:
        os.environ.update(LLM_DATA_DIR=tempfile.mkdtemp(prefix="worker-cpu-"), OLLAMA_HOST=standin.url,
                          DJANGO_SETTINGS_MODULE="llmsite.settings")
        os.environ.pop("DATABASE_URL", None)
        cpu, renewer, took, profile = measure(args)
    print(f"worker task: {1000 * cpu:.2f} ms CPU a request (lease renewer {1000 * renewer:.3f} ms); "
          f"wake-up -> done p50 {1000 * statistics.median(took):.1f} ms; {args.requests} requests, "
          f"load average {os.getloadavg()[0]:.1f}")
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    return 0


def measure(args):
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from llm import catalog
    from llm.models import ApiToken, GenerationRequest
    from llm.queue import linger, tasks, wakeups

    logging.disable(logging.CRITICAL)
    tasks.async_task = lambda *args, **kwargs: None  # no cluster: the thread below is the worker
    linger.enable()
    token, model = ApiToken.issue("bench")[0], catalog.entries()[0].name
    profile = cProfile.Profile(time.thread_time) if args.profile else None
    stopping = threading.Event()

    def work():
        while not stopping.is_set():
            profile.runcall(linger.run) if profile else linger.run()

    task = threading.Thread(target=work, name="generation-task")
    task.start()
    took = []
    for number in range(WARM_UP + args.requests):
        if number == WARM_UP:
            clocks = _clocks(task)
            before = [time.clock_gettime(clock) for clock in clocks]
        request = GenerationRequest.objects.create(token=token, model=model, prompt=PROMPT,
                                                   options={"num_predict": 16})
        with wakeups.listen(wakeups.request_channel(request.request_id)) as ended:
            began = time.perf_counter()
            tasks.wake_generation_worker()
            while GenerationRequest.objects.filter(pk=request.pk, status="done").count() == 0:
                ended.wait(5)
            if number >= WARM_UP:
                took.append(time.perf_counter() - began)
    time.sleep(0.05)  # the task's look at the queue after the last one
    used = [(time.clock_gettime(clock) - start) / args.requests for clock, start in zip(clocks, before)]
    stopping.set()
    linger.stop()
    task.join()
    return used[0], used[1], took, profile


def _clocks(task):
    renewer = next(thread for thread in threading.enumerate() if thread.name == "lease-renewer")
    return time.pthread_getcpuclockid(task.ident), time.pthread_getcpuclockid(renewer.ident)


if __name__ == "__main__":
    raise SystemExit(main())
