"""The native API's operations (llm/doors/views.py): the seed contract's paths and answers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from llm.doors import serializers as api
from llm.doors.schema.bodies import (
    CancelledSerializer,
    ClearedSerializer,
    ErrorSerializer,
    GenerationQueuedSerializer,
    GenerationResultSerializer,
    ModelsSerializer,
    ProcessedSerializer,
    PulledAllSerializer,
    PulledSerializer,
    PullDetailSerializer,
    PullListSerializer,
    RequestDetailSerializer,
    StatusSerializer,
    StreamLineSerializer,
    SwitchedSerializer,
    UnloadedSerializer,
)
from llm.doors.schema.common import ADMIN, WITH_BODY, describe, error_responses


def errors(*codes):
    """Error responses in the contract's shape; every call can get 401 and 429."""
    return error_responses(ErrorSerializer, codes, unknown=None)


describe(
    "llm.doors.views.GenerateViewSet",
    create=extend_schema(
        summary="Generate text",
        description=(
            "200 with the answer when nothing is ahead (or `wait: true`), 202 with the queue position "
            "otherwise (or `wait: false`). With `stream: true`, newline-delimited JSON as the text comes."
        ),
        request=api.GenerateSerializer,
        responses={
            (200, "application/json"): GenerationResultSerializer,
            (200, "application/x-ndjson"): StreamLineSerializer,
            202: GenerationQueuedSerializer,
            **errors(*WITH_BODY, 409, 502, 503),
        },
    ),
)
_REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.STR, OpenApiParameter.PATH)
describe(
    "llm.doors.views.RequestViewSet",
    retrieve=extend_schema(
        summary="One of this token's requests: where it stands, its result once done",
        parameters=[_REQUEST_ID],
        responses={200: RequestDetailSerializer, **errors(404)},
    ),
    destroy=extend_schema(
        summary="Cancel one of this token's requests",
        parameters=[_REQUEST_ID],
        responses={200: CancelledSerializer, **errors(404, 409)},
    ),
)
describe(
    "llm.doors.views.StatusViewSet",
    list=extend_schema(summary="Ollama, the resident model, the queue", responses={200: StatusSerializer, **errors()}),
)
describe(
    "llm.doors.views.ModelsViewSet",
    list=extend_schema(summary="The catalog, with descriptions", responses={200: ModelsSerializer, **errors()}),
)
describe(
    "llm.doors.views.PullViewSet",
    create=extend_schema(
        summary="Download a model (admin)",
        request=api.ModelSerializer,
        responses={200: PulledSerializer, 202: PulledSerializer, **errors(*WITH_BODY, *ADMIN, 502)},
    ),
)
describe(
    "llm.doors.views.PullAllViewSet",
    create=extend_schema(
        summary="Download every catalog model (admin)",
        request=None,
        responses={200: PulledAllSerializer, 202: PulledAllSerializer, **errors(*ADMIN)},
    ),
)
describe(
    "llm.doors.views.PullProgressViewSet",
    list=extend_schema(summary="Recent pulls (admin)", responses={200: PullListSerializer, **errors(*ADMIN)}),
    retrieve=extend_schema(
        summary="One pull's progress (admin)",
        parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: PullDetailSerializer, **errors(*ADMIN, 404)},
    ),
)
describe(
    "llm.doors.views.SwitchViewSet",
    create=extend_schema(
        summary="Unload the resident model, load this one (admin)",
        request=api.ModelSerializer,
        responses={200: SwitchedSerializer, **errors(*WITH_BODY, *ADMIN, 409, 502, 503)},
    ),
)
describe(
    "llm.doors.views.UnloadViewSet",
    create=extend_schema(
        summary="Free the model's memory now (admin)",
        request=api.NodeSerializer,
        responses={200: UnloadedSerializer, **errors(*WITH_BODY, *ADMIN, 409, 502, 503)},
    ),
)
describe(
    "llm.doors.views.QueueViewSet",
    process=extend_schema(
        summary="Run up to max_iterations queued requests in this call (admin)",
        request=api.ProcessQueueSerializer,
        responses={200: ProcessedSerializer, **errors(*WITH_BODY, *ADMIN)},
    ),
    clear=extend_schema(
        summary="Cancel every waiting request (admin)",
        request=None,
        responses={200: ClearedSerializer, **errors(*ADMIN)},
    ),
)
