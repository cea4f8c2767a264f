"""What relaying a generation costs the model: its own tokens/s through the service against direct.

    .venv/bin/python bench/relay.py [--runs 20] [--tokens 256] [--no-write]

On a CPU-only box the model and the service share the cores, so the worker's
work while a generation streams (reading Ollama's chunks, storing the text so
far every LLM_STREAM_FLUSH_SECONDS, waking whoever follows it) is taken from
the model. This runs the real stand-in (SmolLM2 through llama-cpp-python) and
the service as the Procfile runs it (SQLite), and asks the same greedy question
alternately:

- direct:  POST /api/generate to the stand-in, streamed, read chunk by chunk;
- relayed: POST /api/v1/llm/generate with wait=true (queue, worker, relay).

The figure is the model's own rate on each side, eval_count / eval_duration as
the stand-in reports it (median of the runs), and their ratio; also the CPU the
worker and the web server used per relayed call (/proc), and the wall time of a
call on each side (the worker reads the stream in batches, so it sees a reply's
end up to 0.1 s late: that cost shows there). Writes its table between the relay
markers of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import procfs  # noqa: E402
from bench.real import MODEL, PROMPT, arguments, command, for_the_service, greedy, real_standin_service  # noqa: E402
from bench.report import publish  # noqa: E402


def main(argv=None) -> int:
    args = arguments(__doc__.split("\n\n")[0], runs=20, argv=argv)
    with real_standin_service() as (standin, service, direct):
        found = measure(standin, service, direct, greedy(args.tokens), args.runs)
    text = report(args, found)
    publish("relay", text, write=not args.no_write)
    return 0


def measure(standin, service, direct, options, runs):
    pids = {"worker": procfs.session_pids(service.worker.pid), "web": procfs.session_pids(service.web.pid),
            "model": [standin.proc.pid]}

    def call_direct():
        final = None
        with direct.post(standin.url + "/api/generate", stream=True, timeout=300,
                         json={"model": MODEL, "prompt": PROMPT, "stream": True, "options": options}) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line:
                    final = json.loads(line)
        return final

    def call_relayed():
        body = {"model": MODEL, "prompt": PROMPT, "wait": True, "options": for_the_service(options)}
        before = {side: procfs.cpu_seconds(members) for side, members in pids.items()}
        response = service.post("/generate", body, timeout=300)
        cpu = {side: procfs.cpu_seconds(members) - before[side] for side, members in pids.items()}
        assert response.status_code == 200, response.text
        return service.get(f"/requests/{response.json()['request_id']}").json(), cpu

    call_relayed(), call_direct()  # warm-up: load the model, open connections
    found = {"direct": [], "relayed": [], "cpu": [], "wall": [], "load": [os.getloadavg()[0]]}
    for _ in range(runs):
        started = time.monotonic()
        found["direct"].append(rate(call_direct()))
        middle = time.monotonic()
        result, cpu = call_relayed()
        found["wall"].append((middle - started, time.monotonic() - middle))
        found["relayed"].append(rate(result))
        found["cpu"].append((cpu, result["eval_count"]))
        time.sleep(0.2)
    found["load"].append(os.getloadavg()[0])
    return found


def rate(result):
    return result["eval_count"] / (result["eval_duration"] / 1e9)


def report(args, found):
    direct, relayed = statistics.median(found["direct"]), statistics.median(found["relayed"])
    cpu_ms = {side: 1000 * statistics.median(cpu[side] for cpu, _ in found["cpu"]) for side in ("worker", "web", "model")}
    share = statistics.median((cpu["worker"] + cpu["web"]) / cpu["model"] for cpu, _ in found["cpu"])
    tokens = statistics.median(count for _, count in found["cpu"])
    wall = [statistics.median(pair[side] for pair in found["wall"]) for side in (0, 1)]
    again = command("bench/relay.py", args)
    return "\n".join([
        "## Relay: what streaming through the service costs the model",
        "",
        f"`.venv/bin/python {again}`: the real stand-in (SmolLM2-135M-Instruct Q4_1 through llama-cpp-python, "
        f"greedy, `num_predict` {args.tokens}) called directly (streamed) and through the service (`POST generate`, "
        f"wait; the worker relays the stream and stores the text every LLM_STREAM_FLUSH_SECONDS), alternately, "
        f"{args.runs} calls each after a warm-up; SQLite, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average {found['load'][0]:.1f} before, {found['load'][1]:.1f} after.",
        "",
        "| path | model tokens/s (eval_count / eval_duration), median | min | max | wall time of a call, median |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| direct | {direct:.1f} | {min(found['direct']):.1f} | {max(found['direct']):.1f} | {wall[0]:.2f} s |",
        f"| relayed by the service | {relayed:.1f} | {min(found['relayed']):.1f} | {max(found['relayed']):.1f} "
        f"| {wall[1]:.2f} s |",
        "",
        f"Relayed / direct: **{relayed / direct:.3f}** (the model's cost: {100 * (1 - relayed / direct):.1f}%). "
        f"CPU per relayed call of {tokens:.0f} tokens: worker {cpu_ms['worker']:.0f} ms, web server "
        f"{cpu_ms['web']:.0f} ms, the model (the stand-in's process) {cpu_ms['model']:.0f} ms: the service takes "
        f"**{100 * share:.1f}%** of the CPU the model spends on the same call. On a box whose cores the model keeps "
        "busy, that share is what the relay costs its tokens/s; the tokens/s columns carry the noise of a shared "
        "machine (see the load average).",
        "",
        NOTES,
    ])


NOTES = """What changed for this figure (issue 16): the worker read Ollama's stream token by token, and each
token woke it between the model's own (~0.2 ms of CPU each with the model on both cores: cold caches and two
context switches), 256 wake-ups a call, most of the worker's CPU. It now reads the socket's whole buffer at
each read (taking the chunked framing apart itself: requests, urllib3 and http.client return one HTTP chunk
per read) and pauses between reads once a reply has run 0.25 s: at most LLM_STREAM_FLUSH_SECONDS while a
client streams the text (it goes out no more often anyway), 0.1 s otherwise, never over a tenth of the reply's
time so far. The price: the worker sees a reply's end up to 0.1 s late (the wall-time column). A store of the
text that nobody streams wakes nobody (it woke every web process's hub).

Before (the same run before the batches): worker 80 ms, web server 30 ms per call, **2.4%** of the model's CPU.
The web server's share is one request's handling (~12-15 ms) plus what grows with the wait: the waiting client
looks at the shared board about once a second when no wake-up came (two queries), and uvicorn's tick; the
worker's, besides the stream, the claim, lease and finish (~10 ms) and its stores of the text, once a second."""


if __name__ == "__main__":
    sys.exit(main())
