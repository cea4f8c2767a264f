"""A held lease stays held: the process's renewing thread renews it before it runs out (llm/engine/leases.py)."""

import pytest

from llm.engine import leases
from llm.models import Lease
from tests.support.service import poll

pytestmark = pytest.mark.django_db(transaction=True)


def expiry(name):
    return Lease.objects.get(name=name).expires_at


def renewed(name):
    """Wait until the lease's expiry moves on from what it is now: a renewal."""
    first = expiry(name)
    return poll(lambda: expiry(name) > first, timeout=30, message=f"the {name} lease to be renewed")


def test_a_held_lease_is_renewed_before_it_runs_out(settings):
    settings.LLM_LEASE_SECONDS = 1.5  # renewed every half second
    with leases.hold("test-renewed") as holder:
        assert holder is not None
        renewed("test-renewed")
        assert Lease.current_holder("test-renewed") == holder


def test_a_lease_taken_while_the_renewer_waits_for_an_earlier_one_is_renewed_too(settings):
    # The renewing thread is not woken for a lease due after the one it waits for: it
    # looks again when that one is due, and then finds the later one.
    settings.LLM_LEASE_SECONDS = 1.5
    with leases.hold("test-first"):
        with leases.hold("test-second") as holder:
            renewed("test-second")
            assert Lease.current_holder("test-second") == holder
    with leases.hold("test-first"):
        pass  # let go at once: the thread still waits for its renewal
    with leases.hold("test-third") as holder:
        renewed("test-third")
        assert Lease.current_holder("test-third") == holder
