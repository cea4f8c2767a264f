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

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llm.standin.backend import REAL_EXTRAS_HINT, real_extras_missing  # noqa: E402
from tests.support.service import Service  # noqa: E402
from tests.support.standin import Standin  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- real-tokens:start -->", "<!-- real-tokens:end -->"
MODEL = "llama3.2:1b"
PROMPT = "Write a detailed essay about the history of the printing press."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured calls on each side (after one warm-up)")
    parser.add_argument("--tokens", type=int, default=256, help="num_predict of every call")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    missing = real_extras_missing()
    if missing:
        raise SystemExit(f"{missing}: install the real-inference extras first ({REAL_EXTRAS_HINT})")

    options = {"temperature": 0, "seed": 1, "num_predict": args.tokens}
    with Standin.start(backend="llama", timeout=60) as standin, Service.start(standin) as service:
        direct = requests.Session()
        direct.trust_env = False

        def call_direct():
            started = time.monotonic()
            response = direct.post(standin.url + "/api/generate", timeout=300,
                                   json={"model": MODEL, "prompt": PROMPT, "stream": False, "options": options})
            wall = time.monotonic() - started
            response.raise_for_status()
            return wall, response.json()

        def call_service():
            started = time.monotonic()
            body = {"model": MODEL, "prompt": PROMPT, "wait": True,
                    "options": {**options, "max_tokens": options["num_predict"]}}
            body["options"].pop("num_predict")
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

    table = _table(runs, args)
    print(table)
    if not args.no_write:
        _write(table)
        print(f"written to {DOC.relative_to(ROOT)}")
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
    command = "bench/real_tokens.py" + (f" --runs {args.runs}" if args.runs != 10 else "") + (
        f" --tokens {args.tokens}" if args.tokens != 256 else "")
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
        f"Reproduce: `.venv/bin/python {command}` (needs the real-inference extras: `bin/test` installs them).",
    ]
    return "\n".join(lines)


def _write(table: str) -> None:
    """Replace only the text between this benchmark's markers; other sections stay as they are."""
    DOC.parent.mkdir(exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    block = f"{START}\n{table}\n{END}"
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    DOC.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
