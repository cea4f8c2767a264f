"""The seed API under /api/v1/llm/. Each view validates, calls one module, responds.

Roles, limits and the audit log are the core's (llm/rules/): changes of state go through
llm/rules/actions.py, generations through intake.submit_generation.
"""

import functools
import re

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from llm import catalog
from llm.queue import intake
from llm import status as service_status
from llm.engine import nodes
from llm.doors import representations as shapes
from llm.doors.exceptions import BadGateway, Conflict, door_error_response
from llm.doors.permissions import IsAdminToken, own_requests
from llm.doors.serializers import GenerateSerializer, ModelSerializer, NodeSerializer, ProcessQueueSerializer, validated
from llm.doors.waiting import Pending, PendingPulls, Stream, WaitingView, admit
from llm.models import GenerationRequest, ModelPull
from llm.rules import actions
from llm.rules.roles import Actor


class GenerateViewSet(WaitingView, viewsets.ViewSet):
    def create(self, request):
        data = _validated(GenerateSerializer, request)
        wait = intake.nothing_ahead() if data["wait"] is None else data["wait"]

        def store():
            return intake.submit_generation(request.auth, data["model"], data["prompt"], data["options"])

        if not (data["stream"] or wait):
            return _generation_response(store())
        place, generation = admit(request.auth, store)
        if data["stream"]:
            return Stream(shapes.generation_stream(generation), place, "application/x-ndjson")
        return Pending(generation, settings.LLM_GENERATE_WAIT_SECONDS, _generation_response, place)


class RequestViewSet(viewsets.ViewSet):
    lookup_field = "request_id"

    def retrieve(self, request, request_id=None):
        generation = self._get(request_id)
        return Response(shapes.generation_detail(generation))

    def destroy(self, request, request_id=None):
        """Cancel: a queued request never runs; a running one stops at the worker's next flush."""
        generation = self._get(request_id)
        if not generation.cancel("Cancelled by the client"):
            raise Conflict(f"Request {request_id} has already ended ({generation.status})")
        return Response({"success": True, "request_id": request_id, "status": generation.status})

    def _get(self, request_id):
        # A token sees only its own requests; another's is "not found", not "forbidden".
        generation = own_requests(self.request.auth).filter(request_id=request_id).first()
        if generation is None:
            raise NotFound(f"No request with id {request_id}")
        return generation


class StatusViewSet(viewsets.ViewSet):
    def list(self, request):
        return Response(service_status.report())


class ModelsViewSet(viewsets.ViewSet):
    def list(self, request):
        models = {entry.name: entry.description for entry in catalog.entries()}
        return Response({
            "success": True, "models": models, "models_fit": service_status.models_fit(),
            "installed_on": service_status.models_by_node(),  # {name: [nodes]}, as last seen
        })


class PullViewSet(WaitingView, viewsets.ViewSet):
    permission_classes = [IsAdminToken]

    def create(self, request):
        data = _validated(ModelSerializer, request)
        name = data["model"]
        pulls = actions.pull(Actor.of(request), name, node=data.get("node"))  # one per node
        return PendingPulls(pulls, settings.LLM_PULL_WAIT_SECONDS, functools.partial(_pull_response, name))


class PullAllViewSet(WaitingView, viewsets.ViewSet):
    permission_classes = [IsAdminToken]

    def create(self, request):
        pulls = actions.pull_all(Actor.of(request))
        return PendingPulls(pulls, settings.LLM_PULL_WAIT_SECONDS, _pull_all_response)


class PullProgressViewSet(viewsets.ViewSet):
    """GET /pulls: recent pulls; GET /pulls/<id>: one, to follow its progress."""

    permission_classes = [IsAdminToken]

    def list(self, request):
        return Response({"success": True, "pulls": [shapes.pull_progress(pull) for pull in ModelPull.objects.all()[:50]]})

    def retrieve(self, request, pk=None):
        pull = ModelPull.objects.filter(pk=pk).first() if re.fullmatch(r"[0-9]{1,18}", str(pk)) else None
        if pull is None:
            raise NotFound(f"No pull with id {pk}")
        return Response({"success": True, "pull": shapes.pull_progress(pull)})


class SwitchViewSet(viewsets.ViewSet):
    permission_classes = [IsAdminToken]

    def create(self, request):
        data = _validated(ModelSerializer, request)
        name = data["model"]
        node = actions.switch(Actor.of(request), name, wait=settings.LLM_GENERATE_WAIT_SECONDS, node=data.get("node"))
        body = {"success": True, "message": f"Switched to model {name}", "model": name}
        return Response({**body, "node": node} if nodes.is_fleet() else body)


class UnloadViewSet(viewsets.ViewSet):
    """Free the model's memory now (keep_alive 0), after any generation in progress."""

    permission_classes = [IsAdminToken]

    def create(self, request):
        node = _validated(NodeSerializer, request).get("node")
        unloaded = actions.unload(Actor.of(request), wait=settings.LLM_GENERATE_WAIT_SECONDS, node=node)
        message = f"Unloaded {', '.join(unloaded)}" if unloaded else "No model was loaded"
        return Response({"success": True, "message": message, "unloaded": unloaded})


class QueueViewSet(viewsets.ViewSet):
    permission_classes = [IsAdminToken]

    @action(detail=False, methods=["post"])
    def process(self, request):
        max_iterations = _validated(ProcessQueueSerializer, request)["max_iterations"]
        processed = actions.process_queue(Actor.of(request), max_iterations, wait=settings.LLM_GENERATE_WAIT_SECONDS)
        remaining = GenerationRequest.objects.waiting().count()
        return Response(
            {"success": True, "processed": processed, "remaining": remaining, "message": _processed(processed, remaining)}
        )

    @action(detail=False, methods=["post"])
    def clear(self, request):
        cleared = actions.clear_queue(Actor.of(request))
        return Response({"success": True, "cleared": cleared})


@csrf_exempt  # else a POST or DELETE to an unknown API path gets Django's HTML 403 (no CSRF token)
def endpoint_not_found(request, path=""):
    return door_error_response(request.path, 404, f"Endpoint not found: /{path}")  # the seed contract's words


def _processed(processed, remaining):
    """/queue/process in a sentence: 0 and 0 mostly means that the worker had already run the queue."""
    if processed == 0 and remaining == 0:
        return "Nothing to process: no request was waiting. The worker runs queued requests as they arrive."
    if processed == 0:
        return f"Processed none: the worker held the model for longer than this call waits; {remaining} still waiting."
    plural = "" if processed == 1 else "s"
    return f"Processed {processed} request{plural}; {remaining} still waiting."


def _validated(serializer_class, request):
    return validated(serializer_class, request.data)


def _generation_response(generation):
    Status = GenerationRequest.Status
    if generation.status == Status.DONE:
        return Response(shapes.generation_result(generation))
    if generation.status == Status.FAILED:
        raise BadGateway(f"Generation {generation.request_id} failed: {generation.error}")
    if generation.status == Status.CANCELLED:
        raise Conflict(f"Request {generation.request_id} was cancelled")
    return Response(shapes.generation_queued(generation), status=status.HTTP_202_ACCEPTED)


def _least_done(pulls):
    """Of the pulls of one model (one per node), the one that answers for them all: a failed
    one, else one still running, else any (all done)."""
    return min(pulls, key=lambda pull: (pull.status != ModelPull.Status.FAILED, pull.is_finished))


def _pull_response(name, pulls):
    pull = _least_done(pulls)
    outcome = shapes.pull_outcome(pull)
    if pull.status == ModelPull.Status.DONE:
        return Response({"success": True, "message": outcome["message"], "model": name})
    if pull.is_finished:
        raise BadGateway(outcome["message"])
    return Response(
        {"success": True, "message": outcome["message"], "model": name, "progress_url": outcome["progress_url"]},
        status=status.HTTP_202_ACCEPTED,
    )


def _pull_all_response(pulls):
    done = sum(pull.status == ModelPull.Status.DONE for pull in pulls)
    still_running = not all(pull.is_finished for pull in pulls)
    message = f"Pulled {done} of {len(catalog.names())} models" + ("; the rest are still pulling" if still_running else "")
    return Response(
        {"success": True, "message": message, "results": {pull.model: shapes.pull_outcome(pull) for pull in pulls}},
        status=status.HTTP_202_ACCEPTED if still_running else status.HTTP_200_OK,
    )
