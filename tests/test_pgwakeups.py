"""Wake-ups between hosts over PostgreSQL LISTEN/NOTIFY (llm/queue/pgwakeups.py), on PostgreSQL only."""

import pytest
from django.db import connection

from llm.queue import hub as hubs
from llm.queue import pgwakeups, wakeups

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def across_hosts(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (the system check refuses LLM_WAKEUPS=postgres elsewhere)")
    settings.LLM_WAKEUPS = "postgres"
    settings.LLM_RUN_DIR = tmp_path
    yield
    pgwakeups.close()
    hub = hubs._hub
    if hub is not None:
        hub.close()
        hubs._hub = None


def from_another_box(channel):
    with pgwakeups.connect() as conn:
        conn.execute("SELECT pg_notify(%s, %s)", [pgwakeups.CHANNEL, f"host2:/srv/run {channel}"])


def test_it_wakes_a_listener_of_this_box_for_a_wake_up_sent_on_another(tmp_path):
    with wakeups.listen("broker-llm") as listener:
        assert pgwakeups.wait_listening(30)
        listener.wait(0)  # the wake-up every relay gives once it listens
        from_another_box("broker-llm")
        assert listener.wait(30) is True


def test_it_wakes_the_hub_s_waiters_of_the_channel_and_of_its_sub_channels():
    with hubs.hub().waiter("request-r1.text") as streaming, hubs.hub().waiter("request-r2") as other:
        assert pgwakeups.wait_listening(30)
        streaming.wait(0), other.wait(0)
        from_another_box("request-r1")
        assert streaming.wait(30) is True
        assert other.wait(0) is False


def test_it_leaves_to_the_sockets_the_wake_ups_its_own_box_sent(settings, tmp_path):
    with wakeups.listen("mine") as listener:
        assert pgwakeups.wait_listening(30)
        listener.wait(0)
        assert pgwakeups.send("mine") is True  # as notify() does, without the socket
        from_another_box("marker")  # heard after ours: by then ours was skipped
        with wakeups.listen("marker") as marker:
            from_another_box("marker")
            assert marker.wait(30) is True
        assert listener.wait(0) is False


def test_it_listens_again_after_losing_its_connection_and_wakes_everything_once():
    with wakeups.listen("broker-llm") as listener:
        assert pgwakeups.wait_listening(30)
        listener.wait(0)
        with pgwakeups.connect() as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
                          [f"LISTEN {pgwakeups.CHANNEL}"])
        assert listener.wait(30) is True  # the wake-up after it listens again
        from_another_box("broker-llm")
        assert listener.wait(30) is True
