"""Tokens per second with a real model: through the gateway against the stand-in called directly.

    .venv/bin/python bench/real_tokens.py [--runs 10] [--tokens 256] [--no-write]

Starts the Ollama stand-in in real mode (SmolLM2 through llama-cpp-python) and
the service as the Procfile runs it (gunicorn + qcluster, fresh SQLite database,
or PostgreSQL when DATABASE_URL says so), then asks the same question with the
same options (greedy, so both sides write the same tokens) alternately:

- direct:  POST /api/generate to the stand-in, stream=false;
- service: POST /api/v1/llm/generate with wait=true (queue, worker, stand-in,
  answer), then GET requests/<id> for Ollama's counters.

Wall tokens/s = eval_count / the client's wall time of the call; the model's own
rate (eval_count / eval_duration) is shown for both, so a slower model during
the service runs would show. Prints a table and writes it, with this command,
between the real-tokens markers of docs/benchmarks.md.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.real import MODEL, PROMPT, arguments, command, for_the_service, greedy, real_standin_service  # noqa: E402
from bench.report import publish  # noqa: E402


def main(argv=None) -> int:
    args = arguments(__doc__.split("\n\n")[0], runs=10, argv=argv)
    options = greedy(args.tokens)
    with real_standin_service() as (standin, service, direct):
        def call_direct():
            started = time.monotonic()
            response = direct.post(standin.url + "/api/generate", timeout=300,
                                   json={"model": MODEL, "prompt": PROMPT, "stream": False, "options": options})
            wall = time.monotonic() - started
            response.raise_for_status()
            return wall, response.json()

        def call_service():
            started = time.monotonic()
            body = {"model": MODEL, "prompt": PROMPT, "wait": True, "options": for_the_service(options)}
            response = service.post("/generate", body, timeout=300)
            wall = time.monotonic() - started
            assert response.status_code == 200, response.text
            detail = service.get(f"/requests/{response.json()['request_id']}").json()
            return wall, detail

        call_service(), call_direct()  # warm-up: load the model, open connections
        runs = {"direct": [], "service": []}
        for _ in range(args.runs):
            runs["direct"].append(call_direct())
            runs["service"].append(call_service())
        texts = {side: {result["response"] for _, result in calls} for side, calls in runs.items()}
        if texts["direct"] != texts["service"]:
            print("warning: the two sides wrote different text", file=sys.stderr)

    publish("real-tokens", _table(runs, args), write=not args.no_write)
    return 0


def _rates(calls):
    wall = statistics.median(result["eval_count"] / seconds for seconds, result in calls)
    model = statistics.median(result["eval_count"] / (result["eval_duration"] / 1e9) for _, result in calls)
    seconds = statistics.median(seconds for seconds, _ in calls)
    # time the client waited beyond the stand-in's own total_duration: HTTP, and on the
    # service path the queue, the worker and the database
    outside = statistics.median(seconds - result["total_duration"] / 1e9 for seconds, result in calls)
    return wall, model, seconds, calls[0][1]["eval_count"], outside


def _table(runs, args) -> str:
    direct, service = _rates(runs["direct"]), _rates(runs["service"])
    cost = (1 - service[0] / direct[0]) * 100
    added = (service[4] - direct[4]) / direct[2] * 100
    again = command("bench/real_tokens.py", args)
    database = "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    lines = [
        "## Real tokens: the gateway against the stand-in called directly",
        "",
        f"SmolLM2-135M-Instruct Q4_1 through llama-cpp-python in the stand-in, as `{MODEL}`; prompt "
        f"\"{PROMPT}\", greedy, `num_predict` {args.tokens}; median of {args.runs} calls per side after a warm-up; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {database}. "
        "Wall tokens/s = eval_count / the client's wall time of the whole call.",
        "",
        "| path | tokens | wall time (s) | outside the model (s) | wall tokens/s | model tokens/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| stand-in directly (`POST /api/generate`) | {direct[3]} | {direct[2]:.3f} | {direct[4]:.3f} | "
        f"{direct[0]:.1f} | {direct[1]:.1f} |",
        f"| through the service (`POST /api/v1/llm/generate`, wait) | {service[3]} | {service[2]:.3f} | "
        f"{service[4]:.3f} | {service[0]:.1f} | {service[1]:.1f} |",
        "",
        "Outside the model = wall time - the stand-in's `total_duration`; model tokens/s = eval_count / eval_duration.",
        "",
        f"Gateway cost on real work: **{added:.1f}%** of the call's time is added outside the model (queue row, "
        f"worker wake-up, relay of the stream, result saved and read back); wall tokens/s differ by {cost:.1f}%, "
        "which also carries the model's own run-to-run noise (its tokens/s column).",
        "",
        f"Reproduce: `.venv/bin/python {again}` (needs the real-inference extras: `bin/test` installs them).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
