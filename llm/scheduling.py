"""The queue policy: which waiting generation runs next.

Decided from our own table, never from the broker's order, so the policy can
change without touching the worker.
"""

from django.db.models import Q

from llm.models import GenerationRequest


def _fifo_order(queryset):
    return queryset.order_by("created_at", "pk")


def next_request():
    """The waiting request to run next, or None."""
    return _fifo_order(GenerationRequest.objects.waiting()).first()


def queue_position(request):
    """1-based place among the requests not yet started (None once started)."""
    if request.status != GenerationRequest.Status.QUEUED:
        return None
    ahead = GenerationRequest.objects.waiting().filter(
        Q(created_at__lt=request.created_at) | Q(created_at=request.created_at, pk__lt=request.pk)
    )
    return ahead.count() + 1


def queue_length():
    """Requests waiting; the one running is not counted."""
    return GenerationRequest.objects.waiting().count()
