"""The dashboard's node cards, in a fleet (LLM_NODES): one per node, and its service button."""

import pytest

from llm.models import AuditEntry, Node
from tests.dashboard.conftest import messages_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_shows_a_card_per_node_and_takes_one_out_of_service(fleet, staff_client, idle_worker):
    page = staff_client.get("/").content.decode()
    assert 'data-test="node-a"' in page and 'data-test="node-b"' in page
    response = staff_client.post("/nodes/service/", {"node": "b"}, follow=True)
    assert messages_of(response) == ["Node b is out of service: it finishes what it runs, takes nothing new."]
    assert not Node.objects.get(name="b").in_service
    assert AuditEntry.objects.filter(action="node.service", target="b").exists()
    staff_client.post("/nodes/service/", {"node": "b", "in_service": "on"})
    assert Node.objects.get(name="b").in_service


def test_one_box_shows_no_node_cards(standin, staff_client):
    assert 'id="nodes"' not in staff_client.get("/").content.decode()


def test_an_unknown_node_is_refused_with_a_message(fleet, staff_client):
    response = staff_client.post("/nodes/service/", {"node": "z"}, follow=True)
    assert messages_of(response) == ["Unknown node: z."]
