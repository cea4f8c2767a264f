"""Task functions for the django-q2 cluster, enqueued by dotted path.

A task carries no request: it only wakes a worker, which then asks our own
tables what to do (llm/scheduling.py decides the order).
"""

from django_q.tasks import async_task

from llm import pulls, runner


def run_generations():
    return runner.drain()


def run_pulls():
    return pulls.drain()


def wake_generation_worker():
    async_task("llm.tasks.run_generations", save=False)


def wake_pull_worker():
    async_task("llm.tasks.run_pulls", save=False)
