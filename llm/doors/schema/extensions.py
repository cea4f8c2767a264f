"""What drf-spectacular cannot guess from the code: the token's two schemes, and fields computed from settings."""

from django.conf import settings
from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)

from llm import catalog
from llm.engine import nodes


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "llm.doors.authentication.ApiKeyAuthentication"
    name = ["ApiKey", "Bearer"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKey": []}, {"Bearer": []}]  # either one

    def get_security_definition(self, auto_schema):
        return [{"type": "apiKey", "in": "header", "name": "X-API-Key"}, {"type": "http", "scheme": "bearer"}]


class CatalogModelFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "llm.doors.serializers.CatalogModelField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": catalog.names(), "description": "A model of the catalog (GET /models)."}


class NodeFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "llm.doors.serializers.NodeField"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "enum": nodes.names(),
                "description": "A node of the fleet (LLM_NODES); absent: the gateway chooses, or acts on every node."}


class StopFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "llm.doors.serializers.StopField"

    def map_serializer_field(self, auto_schema, direction):
        return {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}


class OptionsSchema(OpenApiSerializerExtension):
    """Ollama's options: the listed ones are checked, any other passes through to Ollama."""

    target_class = "llm.doors.serializers.OptionsSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": True}


class GenerateSchema(OpenApiSerializerExtension):
    target_class = "llm.doors.serializers.GenerateSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        prompt = {**schema["properties"]["prompt"], "minLength": 1, "maxLength": settings.LLM_MAX_PROMPT_CHARS}
        return {**schema, "properties": {**schema["properties"], "prompt": prompt}}
