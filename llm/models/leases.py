"""Named locks in the database that expire unless renewed."""

from datetime import timedelta

from django.db import IntegrityError, models, transaction
from django.db.models import Q
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
        free = Q(holder="") | Q(expires_at__lt=now) | Q(holder=holder)
        taken = cls.objects.filter(free, name=name).update(holder=holder, expires_at=now + timedelta(seconds=seconds))
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
        cls.objects.filter(name=name, holder=holder).update(holder="", expires_at=None)

    @classmethod
    def current_holder(cls, name):
        lease = cls.objects.filter(name=name, expires_at__gte=timezone.now()).exclude(holder="").first()
        return lease.holder if lease else None
