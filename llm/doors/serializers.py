"""What the native API's bodies must hold, and Ollama's options for every door.

Views check a body with `validated(SomeSerializer, data)`: one instance of each serializer
checks every call. DRF deep-copies a serializer's declared fields for each new instance:
~1.3 ms of the web server's CPU per GenerateSerializer with its options (measured,
docs/benchmarks.md "Lean"), where checking takes ~0.2. Checking keeps nothing on the instance
(no context, no partial update, never `.save()`), so one serves every thread.
"""

import functools

from rest_framework import serializers

from llm import catalog
from llm.engine import nodes

# Ranges for options that Ollama reads as numbers: past them a value is a client's
# bug, or an attempt to make one request hold the box (a 1M-token context).
INT64 = (-(2**63), 2**63 - 1)
MAX_TOKENS = 131_072
MAX_CONTEXT = 131_072


class StrictFloatField(serializers.FloatField):
    """A number, not a string that looks like one: clients sending "0.7" have a bug."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, not "yes", 1 or "false" (which a loose reading would take as true)."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StopField(serializers.Field):
    default_error_messages = {"invalid": "Must be a string or a list of strings."}

    def to_internal_value(self, data):
        if isinstance(data, str):
            return [data]
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            return data
        self.fail("invalid")

    def to_representation(self, value):
        return value


class OptionsSerializer(serializers.Serializer):
    """Ollama's model options (docs/api.md, "Generate request (With options)").

    `max_tokens` is the seed API's name for Ollama's `num_predict`. Options not
    listed here pass through untouched, as Ollama ignores ones it does not know.
    """

    max_tokens = StrictIntegerField(required=False, min_value=-2, max_value=MAX_TOKENS)
    num_predict = StrictIntegerField(required=False, min_value=-2, max_value=MAX_TOKENS)
    temperature = StrictFloatField(required=False, min_value=0, max_value=2)
    top_p = StrictFloatField(required=False, min_value=0, max_value=1)
    min_p = StrictFloatField(required=False, min_value=0, max_value=1)
    typical_p = StrictFloatField(required=False, min_value=0, max_value=1)
    top_k = StrictIntegerField(required=False, min_value=0, max_value=1_000_000)
    seed = StrictIntegerField(required=False, min_value=INT64[0], max_value=INT64[1])
    num_ctx = StrictIntegerField(required=False, min_value=1, max_value=MAX_CONTEXT)
    num_keep = StrictIntegerField(required=False, min_value=-1, max_value=MAX_CONTEXT)
    repeat_last_n = StrictIntegerField(required=False, min_value=-1, max_value=MAX_CONTEXT)
    repeat_penalty = StrictFloatField(required=False, min_value=0, max_value=100)
    presence_penalty = StrictFloatField(required=False, min_value=-100, max_value=100)
    frequency_penalty = StrictFloatField(required=False, min_value=-100, max_value=100)
    mirostat = StrictIntegerField(required=False, min_value=0, max_value=2)
    mirostat_tau = StrictFloatField(required=False, min_value=0, max_value=100)
    mirostat_eta = StrictFloatField(required=False, min_value=0, max_value=100)
    num_thread = StrictIntegerField(required=False, min_value=1, max_value=1024)
    num_batch = StrictIntegerField(required=False, min_value=1, max_value=MAX_CONTEXT)
    stop = StopField(required=False)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        known = super().to_internal_value(data)
        # NUL characters (which PostgreSQL cannot store) never get this far: llm/doors/parsers.py refuses them.
        options = {key: value for key, value in data.items() if key not in self.fields}
        options.update(known)
        if "max_tokens" in options:
            options.setdefault("num_predict", options["max_tokens"])
            del options["max_tokens"]
        return options



class CatalogModelField(serializers.CharField):
    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        if name not in catalog.names():
            raise serializers.ValidationError(f"Unknown model: {name}. Available: {', '.join(catalog.names())}")
        return name


class GenerateSerializer(serializers.Serializer):
    model = CatalogModelField()
    prompt = serializers.CharField(trim_whitespace=False)
    options = OptionsSerializer(required=False, default=dict)
    wait = StrictBooleanField(required=False, allow_null=True, default=None)
    stream = StrictBooleanField(required=False, default=False)

    def to_internal_value(self, data):
        if isinstance(data, dict) and (not data.get("model") or not data.get("prompt")):
            # The contract's own wording for the commonest mistake.
            raise serializers.ValidationError({"non_field_errors": ["model and prompt are required"]})
        return super().to_internal_value(data)


class NodeField(serializers.CharField):
    """A node of LLM_NODES (absent: the gateway chooses, or acts on every node)."""

    def to_internal_value(self, data):
        name = super().to_internal_value(data)
        if name not in nodes.names():
            raise serializers.ValidationError(f"Unknown node: {name}. The nodes: {', '.join(nodes.names())}")
        return name


class ModelSerializer(serializers.Serializer):
    model = CatalogModelField()
    node = NodeField(required=False)


class NodeSerializer(serializers.Serializer):
    node = NodeField(required=False)


class ProcessQueueSerializer(serializers.Serializer):
    max_iterations = StrictIntegerField(required=False, default=10, min_value=1, max_value=1000)


def validated(serializer_class, data):
    """`data` checked by `serializer_class`: its validated data, or the ValidationError (with
    the same errors) that `serializer_class(data=data).is_valid(raise_exception=True)` raises."""
    return _checker(serializer_class).run_validation(data)


@functools.cache
def _checker(serializer_class):
    return serializer_class()
