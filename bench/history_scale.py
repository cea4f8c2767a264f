"""The dashboard's history and usage pages over a million finished requests.

    .venv/bin/python bench/history_scale.py [--rows 1000000] [--days 7] [--runs 3]

Fills a fresh SQLite file (migrated as usual) with `--rows` finished requests
spread evenly over the last `--days` days (so with 7, the week's charts read
every one of them), a model load in the audit log every 20 requests and five
tokens, by bulk insert; then times GET /history/?range=... and GET /usage/?range=...
through Django's test client as a staff member, the median of `--runs`. Prints a
table and writes it to docs/benchmarks.md. Nothing else runs: no Ollama is needed.
"""

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ["llama3.2:3b", "phi4:mini", "qwen3:4b", "llama3.2:1b"]
CHUNK = 50_000


def fill(rows, days, seed=7):
    from django.db import connection, transaction
    from django.utils import timezone

    from llm.models import ApiToken

    tokens = [ApiToken.issue(f"client {n}")[0].pk for n in range(5)]
    now = timezone.now()
    start = now - timedelta(days=days)
    spacing = (now - start) / rows
    rng = random.Random(seed)
    columns = (
        "request_id, token_id, source, kind, model, prompt, options, extra, status, response, error, done_reason, "
        "created_at, started_at, finished_at, attempts, worker, prompt_eval_count, eval_count, eval_duration"
    )
    insert = f"INSERT INTO llm_generationrequest ({columns}) VALUES ({', '.join(['%s'] * 20)})"
    audit = "INSERT INTO llm_auditentry (created_at, action, target, detail) VALUES (%s, %s, %s, %s)"
    model = MODELS[0]
    for first in range(0, rows, CHUNK):
        batch, loads = [], []
        for n in range(first, min(first + CHUNK, rows)):
            created = start + spacing * n
            if rng.random() < 0.05:  # the model changes now and then
                model = rng.choice(MODELS)
            started = created + timedelta(seconds=rng.expovariate(1 / 3))
            finished = started + timedelta(seconds=rng.uniform(0.5, 4))
            status = "done" if rng.random() < 0.95 else rng.choice(["failed", "cancelled"])
            tokens_out = rng.randint(20, 400) if status == "done" else None
            batch.append((
                f"req_bench{n:010d}", rng.choice(tokens), "api", "generate", model, "", "{}", "{}", status, "", "", "",
                created, started, finished, 1, "", rng.randint(10, 200), tokens_out,
                tokens_out and int(tokens_out / 40 * 1e9),
            ))
            if n % 20 == 0:
                loads.append((started, "model.load", model, '{"seconds": 2.0, "swap": true, "unloaded": []}'))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(insert, [_adapted(row, connection) for row in batch])
            cursor.executemany(audit, [_adapted(row, connection) for row in loads])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _adapted(row, connection):
    ops = connection.ops
    return [ops.adapt_datetimefield_value(value) if hasattr(value, "tzinfo") else value for value in row]


def time_pages(runs):
    """{url: (first view, median of the later ones)}: the first reads every bucket, later ones the open bucket."""
    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.create_user("bench", is_staff=True))
    client.get("/history/?range=hour")  # the process's first page: templates, URLs, connection
    cache.clear()
    results = {}
    for path in ("history", "usage"):
        for name in ("hour", "day", "week"):
            url = f"/{path}/?range={name}"
            seconds = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                response = client.get(url)
                seconds.append(time.perf_counter() - started)
                assert response.status_code == 200, (url, response.status_code)
            results[url] = (seconds[0], statistics.median(seconds[1:]))
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="history-bench-")
    os.environ.update(
        DATABASE_URL=f"sqlite:///{folder}/bench.sqlite3", LLM_DATA_DIR=folder, DJANGO_SETTINGS_MODULE="llmsite.settings",
        OLLAMA_HOST="http://127.0.0.1:9",  # nothing there: the pages timed never call Ollama
        STATIC_ROOT=f"{folder}/static",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.perf_counter()
    fill(args.rows, args.days)
    filled = time.perf_counter() - started
    size = Path(folder, "bench.sqlite3").stat().st_size
    results = time_pages(args.runs)
    shutil.rmtree(folder)  # 300 MB for a million rows

    lines = [
        "## History charts and usage per token over a million requests",
        "",
        f"`.venv/bin/python bench/history_scale.py --rows {args.rows} --days {args.days:g}` — SQLite file of "
        f"{size / 1e6:.0f} MB, {args.rows:,} finished requests spread over the last {args.days:g} days "
        f"(bulk insert in {filled:.0f} s), a load every 20 requests; page time through Django's test client "
        f"(query and rendering), median of {args.runs}, 2 cores.",
        "",
        "| page | rows in range | first view (s) | refresh (s) |",
        "| --- | ---: | ---: | ---: |",
    ]
    per_day = args.rows / args.days
    in_range = {"hour": per_day / 24, "day": per_day, "week": per_day * 7}
    for url, (first, later) in results.items():
        name = url.rsplit("=", 1)[1]
        lines.append(f"| `{url}` | {min(args.rows, in_range[name]):,.0f} | {first:.2f} | {later:.2f} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        from bench.report import write_section

        write_section("history", text)


if __name__ == "__main__":
    main()
