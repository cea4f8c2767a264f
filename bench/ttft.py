"""Time to first token: streaming through the gateway against streaming from the stand-in directly.

    .venv/bin/python bench/ttft.py [--runs 40]

Starts the Ollama stand-in (10 ms a token) and the service as the Procfile runs
it, warms the model, then streams the same short generation both ways, one at
a time with an idle queue. Prints a table and writes it to docs/benchmarks.md.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.report import milliseconds, write_section  # noqa: E402
from tests.support.service import API, Service  # noqa: E402
from tests.support.standin import Standin  # noqa: E402

BODY = {"model": "llama3.2:1b", "prompt": "time to first token", "options": {"num_predict": 8}}


def first_text_after(session, url, body, headers, key):
    started = time.monotonic()
    with session.post(url, json=body, headers=headers, stream=True, timeout=60) as response:
        for raw in response.iter_lines():
            if raw and json.loads(raw).get(key):
                first = time.monotonic() - started
                for _ in response.iter_lines():
                    pass
                return first
    raise RuntimeError("the stream ended without text")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    runs = parser.parse_args().runs
    with Standin.start(load_seconds=0.5, token_seconds=0.01) as standin, Service.start(standin) as service:
        session = requests.Session()
        headers = {"X-API-Key": service.token}
        direct, gateway = [], []
        for _ in range(3):  # warm the model, the connections, the worker
            first_text_after(session, service.url + API + "/generate", dict(BODY, stream=True), headers, "response")
        for _ in range(runs):
            direct.append(first_text_after(session, standin.url + "/api/generate", dict(BODY, keep_alive="5m"), {}, "response"))
            gateway.append(first_text_after(session, service.url + API + "/generate", dict(BODY, stream=True), headers, "response"))
    d, g = milliseconds(direct), milliseconds(gateway)
    table = "\n".join([
        "## Streaming: time to first token",
        "",
        f"`.venv/bin/python bench/ttft.py --runs {runs}` — stand-in at 10 ms a token, model already loaded, idle queue, SQLite.",
        "",
        "| path | p50 ms | p99 ms |",
        "| --- | ---: | ---: |",
        f"| stand-in directly | {d['p50']:.1f} | {d['p99']:.1f} |",
        f"| through the gateway (queue, worker, stream) | {g['p50']:.1f} | {g['p99']:.1f} |",
        f"| **added by the gateway** | **{g['p50'] - d['p50']:.1f}** | **{g['p99'] - d['p99']:.1f}** |",
    ])
    print(table)
    write_section("ttft", table)


if __name__ == "__main__":
    main()
