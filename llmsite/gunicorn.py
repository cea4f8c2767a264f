"""Gunicorn settings, read with `gunicorn -c python:llmsite.gunicorn`.

One process with threads: a generate or pull call waits on the database for its
result, which costs a thread, not a process, so many waiting clients fit in
little memory and /status still answers at once.
"""

import os

bind = os.getenv("WEB_BIND", f"127.0.0.1:{os.getenv('PORT', '8000')}")
workers = int(os.getenv("WEB_WORKERS", "1"))
worker_class = "gthread"
threads = int(os.getenv("WEB_THREADS", "32"))
# gthread's timeout watches the worker process, not a request: a long wait for a
# generation does not trip it.
timeout = int(os.getenv("WEB_TIMEOUT", "60"))
graceful_timeout = int(os.getenv("WEB_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
accesslog = "-"
# The query string can carry nothing secret here (tokens travel in headers), but
# keep the log line short: method, path, status, size, time.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
# Gunicorn 27's control socket lives in $HOME and is not needed here; two servers
# on one box would fight over it.
control_socket_disable = True
