"""Named locks in the database that expire unless renewed."""

from datetime import timedelta

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone


class Lease(models.Model):
    """A named lock in the database that expires unless its holder renews it.

    It holds across processes on SQLite and PostgreSQL alike, and a holder that
    dies (SIGKILL, OOM killer) cannot keep it: it runs out on its own.
    """

    ENGINE = "engine"  # loading a model and generating with it
    PULLS = "pulls"  # downloading models

    @classmethod
    def engine(cls, node):
        """The engine lease of a fleet node (the first one keeps the one-box name)."""
        return cls.ENGINE if node == "default" else f"{cls.ENGINE}:{node}"

    @classmethod
    def pulls(cls, node):
        return cls.PULLS if node == "default" else f"{cls.PULLS}:{node}"

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.name}: {self.holder or 'free'}"

    @classmethod
    def try_acquire(cls, name, holder, seconds):
        now = timezone.now()
        taken = _run(_ACQUIRE, holder, _adapt(now + timedelta(seconds=seconds)), name, _adapt(now), holder)
        if not taken and not cls.objects.filter(name=name).exists():
            # First use on this database: make the row, then race for it like anyone.
            try:
                with transaction.atomic():
                    cls.objects.create(name=name)
            except IntegrityError:
                pass
            return cls.try_acquire(name, holder, seconds)
        return bool(taken)

    @classmethod
    def renew(cls, name, holder, seconds):
        expires = timezone.now() + timedelta(seconds=seconds)
        return bool(cls.objects.filter(name=name, holder=holder).update(expires_at=expires))

    @classmethod
    def take_over(cls, name, old_holder, holder, seconds):
        expires = timezone.now() + timedelta(seconds=seconds)
        return bool(cls.objects.filter(name=name, holder=old_holder).update(holder=holder, expires_at=expires))

    @classmethod
    def release(cls, name, holder):
        _run(_RELEASE, name, holder)

    @classmethod
    def current_holder(cls, name):
        lease = cls.objects.filter(name=name, expires_at__gte=timezone.now()).exclude(holder="").first()
        return lease.holder if lease else None


# The engine's lease is taken and let go around every request the worker runs: these two
# statements are written once, as the ORM's building of them cost more than running them.
_ACQUIRE = (
    'UPDATE "{table}" SET "holder" = %s, "expires_at" = %s'
    ' WHERE "name" = %s AND ("holder" = \'\' OR "expires_at" < %s OR "holder" = %s)'
)
_RELEASE = 'UPDATE "{table}" SET "holder" = \'\', "expires_at" = NULL WHERE "name" = %s AND "holder" = %s'


def _run(statement, *params):
    """Run one of the statements above; returns how many rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=Lease._meta.db_table), params)
        return cursor.rowcount


def _adapt(when):
    return connection.ops.adapt_datetimefield_value(when)
