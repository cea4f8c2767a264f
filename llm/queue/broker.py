"""django-q2's ORM broker, woken at once instead of polling.

The stock ORM broker looks for tasks every Q_CLUSTER["poll"] seconds: 0.2 s
means ~160 ms before a task starts, and a poll short enough to start it at once
keeps a core busy while idle. This broker keeps the ORM's table and locking as
they are, and adds one wake-up (llm/wakeups.py) per task stored: the pusher of
every qcluster on the box sleeps on its listener and looks at the table when
woken, or every Q_CLUSTER["poll"] seconds anyway, so a lost wake-up (or a task
stored by another box) costs at most that long, never the task. The poll can
then be long (1 s), which keeps an idle worker all but free.

    Q_CLUSTER = {"orm": "default", "broker_class": "llm.queue.broker.WakingORM", "poll": 1.0, ...}
"""

import os

from django.db import transaction
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from llm.queue import wakeups


class WakingORM(ORM):
    def __init__(self, list_key=None):
        super().__init__(list_key=list_key)
        # qcluster's sentinel makes its broker before it forks the pusher, the
        # monitor and the workers: loading the task code now lets them all share
        # one copy of it, where each would otherwise import its own.
        import llm.queue.tasks  # noqa: F401

    def enqueue(self, task):
        task_id = super().enqueue(task)
        # Inside a transaction the row is not visible yet: wake them once it is.
        transaction.on_commit(self._wake, using=Conf.ORM)
        return task_id

    def dequeue(self):
        listener = self._listener()  # bound before looking, so no wake-up falls in between
        taken = self._take()
        if not taken and listener.wait(Conf.POLL):
            taken = self._take()
        return taken or None

    def _take(self):
        """Lock the tasks ready to run, as the ORM broker does: one conditional UPDATE each."""
        ready = self.get_connection().filter(key=self.list_key, lock__lt=timezone.now())[: Conf.BULK]
        return [
            (task.pk, task.payload)
            for task in ready
            if self.get_connection().filter(id=task.pk, lock=task.lock).update(lock=self.timeout(task))
        ]

    def channel(self):
        return f"broker-{self.list_key}"

    def _wake(self):
        wakeups.notify(self.channel())

    def _listener(self):
        # One per process: a listener inherited over fork would be read by two.
        listener = getattr(self, "_listening", None)
        if listener is None or listener[0] != os.getpid():
            self._listening = listener = (os.getpid(), wakeups.listen(self.channel()))
        return listener[1]


def task_waiting(func, list_key=None):
    """True when a task for `func` (a dotted path) is stored and no pusher has taken it yet.

    A wake-up that finds one can be skipped: the worker that task wakes reads
    our tables after this moment, so it also sees whatever was stored before.
    """
    ready = OrmQ.objects.using(Conf.ORM).filter(key=list_key or Conf.CLUSTER_NAME, lock__lte=timezone.now())
    return any(SignedPackage.loads(payload).get("func") == func for payload in ready.values_list("payload", flat=True))
