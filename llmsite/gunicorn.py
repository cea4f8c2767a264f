"""Gunicorn settings, read with `gunicorn -c python:llmsite.gunicorn` (the Procfile's `web`).

One process running uvicorn's worker: Django under ASGI (llmsite/asgi.py). A client that
waits for its generation, or streams it, is a coroutine on the event loop, not a thread:
measured in docs/benchmarks.md ("Waiting clients"), a thousand of them add ~50 MB (gthread
with 500 threads: 143 MB for 400) and leave /status answering. The sync code of requests
(middleware, DRF) runs on WEB_THREADS threads shared by all requests.
"""

import os
import resource

bind = os.getenv("WEB_BIND", f"127.0.0.1:{os.getenv('PORT', '8000')}")
workers = int(os.getenv("WEB_WORKERS", "1"))
worker_class = "llmsite.uvicorn_worker.QuietUvicornWorker"  # uvicorn's, ticking once a second
# uvicorn's worker counts a request as activity: a long wait does not trip this.
timeout = int(os.getenv("WEB_TIMEOUT", "60"))
graceful_timeout = int(os.getenv("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# uvicorn writes the access log, in its own format: address, method, path, status
# (tokens travel in headers, never in it).
accesslog = "-"
# Gunicorn 27's control socket lives in $HOME and is not needed here; two servers
# on one box would fight over it.
control_socket_disable = True


def _raise_open_files_limit():
    """Every waiting client is an open socket: take the hard limit of open files (the systemd
    units set LimitNOFILE=65536), where the default soft limit of 1,024 would refuse the
    1,000th client."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


_raise_open_files_limit()
