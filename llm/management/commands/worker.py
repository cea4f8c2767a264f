"""manage.py worker: django-q2's `qcluster`, leaner; the Procfile's worker.

Two differences, both about memory (docs/benchmarks.md, "Footprint"):

- it runs every system check but the URLconf's: importing the URLconf would load
  the API's views, its schema generator, DRF's test client, jinja2, PyYAML and
  more into the worker, ~20 MB it never uses (it serves no URL);
- it freezes the garbage collector's view of everything loaded so far before
  the cluster forks its processes (sentinel, pusher, monitor, workers): a
  collection in a child then leaves those shared pages alone instead of
  writing to them, which would copy them into every child.

`manage.py qcluster` still works the same, with the full checks.
"""

import gc

from django.core import checks
from django_q.management.commands import qcluster


class Command(qcluster.Command):
    help = "Start the worker: django-q2's cluster without loading the URLconf."
    requires_system_checks = sorted(checks.registry.registry.tags_available() - {checks.Tags.urls})

    def handle(self, *args, **options):
        gc.collect()
        gc.freeze()
        return super().handle(*args, **options)
