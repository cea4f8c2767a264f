"""The native API's answers, described as serializers (the views answer with plain dicts)."""

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from llm.models import GenerationRequest, ModelPull


class ErrorSerializer(serializers.Serializer):
    success = serializers.BooleanField(help_text="Always false.")
    error = serializers.CharField(help_text="The HTTP reason phrase, e.g. Unauthorized.")
    message = serializers.CharField(help_text="What went wrong, in a sentence.")


class GenerationResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    request_id = serializers.CharField()
    response = serializers.CharField(allow_blank=True)
    model = serializers.CharField()
    done = serializers.BooleanField()
    queue_length = serializers.IntegerField(min_value=0)


class GenerationQueuedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField(help_text='"Request queued", or "Request running" once it started.')
    request_id = serializers.CharField()
    queue_position = serializers.IntegerField(min_value=0, help_text="1-based among waiting requests; 0: running.")
    queue_length = serializers.IntegerField(min_value=0)


class StreamLineSerializer(serializers.Serializer):
    """One line of the newline-delimited JSON stream (`"stream": true`)."""

    request_id = serializers.CharField()
    model = serializers.CharField()
    done = serializers.BooleanField()
    status = serializers.CharField(required=False)
    queue_position = serializers.IntegerField(required=False)
    queue_length = serializers.IntegerField(required=False)
    response = serializers.CharField(required=False, allow_blank=True)
    success = serializers.BooleanField(required=False)
    done_reason = serializers.CharField(required=False, allow_blank=True)
    error = serializers.CharField(required=False)
    message = serializers.CharField(required=False)


def _counter(help_text):
    return serializers.IntegerField(required=False, allow_null=True, help_text=help_text)


class RequestDetailSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    request_id = serializers.CharField()
    model = serializers.CharField()
    status = serializers.ChoiceField(choices=GenerationRequest.Status.values)
    done = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    queue_position = serializers.IntegerField(required=False, help_text="While queued.")
    queue_length = serializers.IntegerField(required=False, help_text="While queued.")
    response = serializers.CharField(required=False, allow_blank=True, help_text="Once done.")
    done_reason = serializers.CharField(required=False, allow_blank=True, help_text="Once done.")
    prompt_eval_count = _counter("Once done: prompt tokens.")
    eval_count = _counter("Once done: tokens generated.")
    total_duration = _counter("Once done: nanoseconds.")
    load_duration = _counter("Once done: nanoseconds.")
    prompt_eval_duration = _counter("Once done: nanoseconds.")
    eval_duration = _counter("Once done: nanoseconds.")
    error = serializers.CharField(required=False, help_text="Why it failed or was cancelled.")


class CancelledSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    request_id = serializers.CharField()
    status = serializers.ChoiceField(choices=GenerationRequest.Status.values)


class InstalledModelSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField(allow_null=True)
    modified_at = serializers.CharField(allow_null=True)


class NodeStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField(help_text="Without credentials.")
    in_service = serializers.BooleanField()
    reachable = serializers.BooleanField()
    current_model = serializers.CharField(allow_null=True)
    running_request = serializers.CharField(allow_null=True)
    installed = InstalledModelSerializer(many=True)
    error = serializers.CharField(required=False, help_text="Why it could not be asked.")


@extend_schema_serializer(many=False)  # a `list` action that answers one object
class StatusSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    ollama_running = serializers.BooleanField()
    current_model = serializers.CharField(allow_null=True)
    queue_length = serializers.IntegerField(min_value=0)
    is_processing = serializers.BooleanField()
    available_models = serializers.ListField(child=serializers.CharField())
    installed_models = InstalledModelSerializer(many=True)
    models_fit = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Catalog name: whether it fits in memory now (null: not installed).",
    )
    ollama_standin = serializers.CharField(allow_null=True, help_text='"echo" or "llama" under the stand-in.')
    ollama_error = serializers.CharField(required=False, help_text="Why Ollama could not be asked.")
    nodes = NodeStatusSerializer(many=True, help_text="The fleet (LLM_NODES), one entry a node; one box: one node.")


@extend_schema_serializer(many=False)  # a `list` action that answers one object
class ModelsSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    models = serializers.DictField(child=serializers.CharField(allow_blank=True), help_text="name: description")
    models_fit = serializers.DictField(
        child=serializers.BooleanField(allow_null=True),
        help_text="Catalog name: whether it fits in memory now (null: not installed; empty while Ollama is down).",
    )
    installed_on = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="Catalog name: the nodes that have it."
    )


class PulledSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    model = serializers.CharField()
    progress_url = serializers.CharField(required=False, help_text="While it is still pulling (202).")


class PullOutcomeSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    progress_url = serializers.CharField(required=False)


class PulledAllSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    results = serializers.DictField(child=PullOutcomeSerializer())


class PullProgressSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField()
    status = serializers.ChoiceField(choices=ModelPull.Status.values)
    detail = serializers.CharField(allow_blank=True)
    completed = serializers.IntegerField()
    total = serializers.IntegerField()
    percent = serializers.FloatField()
    error = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(many=False)  # a `list` action that answers one object
class PullListSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    pulls = PullProgressSerializer(many=True)


class PullDetailSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    pull = PullProgressSerializer()


class SwitchedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    model = serializers.CharField()
    node = serializers.CharField(required=False, help_text="Where it loaded (in a fleet).")


class UnloadedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    unloaded = serializers.ListField(child=serializers.CharField())


class ProcessedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    processed = serializers.IntegerField(min_value=0)
    remaining = serializers.IntegerField(min_value=0)
    message = serializers.CharField(help_text="What happened, in a sentence (not in the seed contract: an addition).")


class ClearedSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    cleared = serializers.IntegerField(min_value=0)
