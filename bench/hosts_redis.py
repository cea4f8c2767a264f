"""Settings for bench/hosts.py's Redis run: django-q2's stock Redis broker in place of the ORM's.

Only for the measurement: the `redis` package is not one of the project's requirements
(bench/hosts.py installs it under /tmp and puts it on PYTHONPATH).
"""

import os

from llmsite.settings import *  # noqa: F401,F403
from llmsite.settings import Q_CLUSTER

Q_CLUSTER = {key: value for key, value in Q_CLUSTER.items() if key not in ("orm", "broker_class")}
Q_CLUSTER["name"] = os.environ["BENCH_CLUSTER_NAME"]  # a list of its own in Redis
Q_CLUSTER["redis"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
