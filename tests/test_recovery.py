"""A request left running by a worker that died (llm/queue/runner.py's recover_orphans).

It runs again only if it stored no text: a streaming client may hold the words
of the first run, and a second run would not write the same ones, so one that
stored text fails with that reason, as a reply that broke off does.
"""

import pytest

from llm.queue import runner
from llm.models import GenerationRequest

pytestmark = pytest.mark.django_db(transaction=True)

Status = GenerationRequest.Status


def orphan(**fields):
    fields = {"model": "llama3.2:1b", "prompt": "hello", "attempts": 1, "worker": "gone:1:a", **fields}
    return GenerationRequest.objects.create(status=Status.RUNNING, **fields)


def recovered(request):
    runner.recover_orphans("new:2:b")
    request.refresh_from_db()
    return request


def test_an_orphan_without_text_goes_back_in_line():
    request = recovered(orphan())
    assert request.status == Status.QUEUED
    assert "running it again" in request.error


def test_an_orphan_that_stored_text_fails_instead_of_running_again():
    request = recovered(orphan(response="The first words"))
    assert request.status == Status.FAILED
    assert request.error.startswith("The worker stopped in the middle of the reply")
    assert request.response == "The first words"


def test_an_orphan_that_ran_too_often_fails_saying_so(settings):
    settings.LLM_MAX_ATTEMPTS = 2
    request = recovered(orphan(attempts=2))
    assert request.status == Status.FAILED and "2 times" in request.error


def test_requeue_refuses_a_request_whose_text_was_stored_meanwhile():
    request = orphan()
    GenerationRequest.objects.filter(pk=request.pk).update(response="written after we looked")
    assert request.requeue("again") is False
    request.refresh_from_db()
    assert request.status == Status.RUNNING and request.response == "written after we looked"


def test_the_holders_own_running_request_is_no_orphan():
    request = GenerationRequest.objects.create(model="llama3.2:1b", status=Status.RUNNING, worker="new:2:b")
    assert recovered(request).status == Status.RUNNING
