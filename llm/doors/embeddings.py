"""Embeddings through the queue, for two doors: Ollama's /api/embed and its legacy
/api/embeddings (under /ollama/), and OpenAI's /v1/embeddings.

An embed is a GenerationRequest of kind "embed": an embedding model is a model, so it
waits in the one queue, loads under the single-model rule (on a one-model box it swaps
like any other) and is grouped by the queue policy like generations are. The worker runs
it through Ollama's /api/embed and stores the vectors on the row; the door waits for
them like an unstreamed generation and answers in its own shape. Any catalog model may
embed, as Ollama allows.
"""

import base64
import struct

from django.conf import settings
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from llm.engine import keepalive
from llm.doors.compat import end_message, failed_status, submit, unstreamed, validated_options
from llm.doors.ollama_door import OllamaView
from llm.doors.ollama_door import _entry as ollama_entry
from llm.doors.openai_door import OpenAIView, openai_error
from llm.doors.openai_door import _entry as openai_entry
from llm.models import GenerationRequest
from llm.rules import actions
from llm.rules.roles import Actor

MAX_INPUTS = 2048  # OpenAI's limit on the texts of one request; we hold Ollama's door to it too
OLLAMA_COUNTERS = ("total_duration", "load_duration", "prompt_eval_count")


class EmbedView:
    """What both doors' embedding views share: the queue, whose submit applies the limits of a
    generation (llm/rules/limits.py: text size, generation rate, queue bound)."""

    def body(self, request):
        """The JSON body, which must be an object."""
        if not isinstance(request.data, dict):
            raise ValidationError("The request body must be a JSON object")
        return request.data

    def load_only(self, request, entry):
        """Nothing to embed: Ollama only loads the model, which is an operator's switch (llm/rules/actions.py)."""
        actions.switch(Actor.of(request), entry.name, wait=settings.LLM_GENERATE_WAIT_SECONDS)

    def embed(self, request, entry, source, texts, answer, options=None, **extra):
        """Queue an embed of `texts`, wait for it (LLM_COMPAT_WAIT_SECONDS), then `answer(the finished row)`."""
        place, generation = submit(
            request, entry, source, kind=GenerationRequest.Kind.EMBED, input=texts, options=options or {}, extra=extra
        )
        return unstreamed(place, generation, answer)


# -- Ollama ---------------------------------------------------------------------------


class OllamaEmbed(EmbedView, OllamaView):
    """POST /api/embed {"model", "input", "truncate", "dimensions", "options", "keep_alive"}."""

    def post(self, request):
        body = self.body(request)
        texts = _ollama_input(body.get("input"))
        entry = ollama_entry(body.get("model"))
        fields = _ollama_fields(body)
        if not texts:
            self.load_only(request, entry)
            return Response({"model": body["model"], "embeddings": []})
        name = body["model"]  # the answer is made once the request is let go (llm/doors/waiting.py)
        return self.embed(request, entry, GenerationRequest.Source.OLLAMA, texts,
                          lambda generation: self._answer(generation, name), **fields)

    def _answer(self, generation, name):
        if message := end_message(generation):
            return Response({"error": message}, status=failed_status(generation, 500))
        counters = {key: getattr(generation, key) for key in OLLAMA_COUNTERS if getattr(generation, key) is not None}
        return Response({"model": name, "embeddings": generation.embeddings or [], **counters})


class OllamaEmbeddings(EmbedView, OllamaView):
    """POST /api/embeddings {"model", "prompt", "options", "keep_alive"}: Ollama's legacy call.

    Run through /api/embed like the others, so its vector is normalized where Ollama's
    legacy endpoint leaves it as the model gave it (same direction, length 1).
    """

    def post(self, request):
        body = self.body(request)
        prompt = "" if body.get("prompt") is None else body["prompt"]
        if not isinstance(prompt, str):
            raise ValidationError("prompt must be a string")
        entry = ollama_entry(body.get("model"))
        fields = _ollama_fields(body)
        if not prompt:
            self.load_only(request, entry)
            return Response({"embedding": []})
        return self.embed(request, entry, GenerationRequest.Source.OLLAMA, [prompt], self._answer, **fields)

    def _answer(self, generation):
        if message := end_message(generation):
            return Response({"error": message}, status=failed_status(generation, 500))
        return Response({"embedding": (generation.embeddings or [[]])[0]})


def _ollama_input(value):
    """Ollama's rule: a string (empty: nothing to embed) or a list of strings."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        if len(value) > MAX_INPUTS:
            raise ValidationError(f"input: at most {MAX_INPUTS} texts in one request")
        return value
    raise ValidationError("invalid input type")


def _ollama_fields(body):
    """Options, and the fields passed on to Ollama. keep_alive is checked, then ours is sent
    instead (a client may not pin a model in memory past the gateway's policy)."""
    try:
        keepalive.parse_keep_alive(body.get("keep_alive"))
    except keepalive.BadRequest as exc:
        raise ValidationError({"keep_alive": str(exc)}) from None
    fields = {"options": validated_options(body.get("options"))}
    if body.get("truncate") is not None:  # Ollama reads a null field as an absent one
        if not isinstance(body["truncate"], bool):
            raise ValidationError({"truncate": "must be true or false"})
        fields["truncate"] = body["truncate"]
    if body.get("dimensions") is not None:
        fields["dimensions"] = _dimensions(body["dimensions"])
    return fields


# -- OpenAI ---------------------------------------------------------------------------


def _base64(vector):
    """OpenAI's base64: the vector as little-endian float32, base64-encoded."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


ENCODERS = {"float": list, "base64": _base64}


class OpenAIEmbeddings(EmbedView, OpenAIView):
    """POST /v1/embeddings {"model", "input", "encoding_format", "dimensions"}."""

    def post(self, request):
        body = self.body(request)
        entry = openai_entry(body.get("model"))
        texts = _openai_input(body.get("input"))
        encoding = "float" if body.get("encoding_format") is None else body["encoding_format"]
        if not isinstance(encoding, str) or encoding not in ENCODERS:
            raise ValidationError({"encoding_format": 'must be "float" or "base64"'})
        extra = {"dimensions": _dimensions(body["dimensions"])} if body.get("dimensions") is not None else {}
        return self.embed(request, entry, GenerationRequest.Source.OPENAI, texts,
                          lambda generation: self._answer(generation, encoding), **extra)

    def _answer(self, generation, encoding):
        if message := end_message(generation):
            status = failed_status(generation, 502)
            return Response(openai_error(status, message), status=status)
        data = [
            {"object": "embedding", "index": index, "embedding": ENCODERS[encoding](vector)}
            for index, vector in enumerate(generation.embeddings or [])
        ]
        tokens = generation.prompt_eval_count or 0
        return Response(
            {"object": "list", "data": data, "model": generation.model,
             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        )


def _openai_input(value):
    """OpenAI's rule: a non-empty string, or a list of 1 to 2048 non-empty strings."""
    if _is_token_array(value):
        raise ValidationError(
            "input: token arrays are not supported here; send a string or a list of strings"
        )
    texts = [value] if isinstance(value, str) else value
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise ValidationError("input: must be a string or a list of strings")
    if not texts or not all(texts):
        raise ValidationError("input: must not be empty, nor hold an empty string")
    if len(texts) > MAX_INPUTS:
        raise ValidationError(f"input: at most {MAX_INPUTS} texts in one request")
    return texts


def _is_token_array(value):
    """[1, 2, 3] (one text as tokens) or [[1, 2], [3]] (several)."""
    if not isinstance(value, list) or not value:
        return False
    return _tokens(value) or all(_tokens(item) and item for item in value)


def _tokens(items):
    return isinstance(items, list) and all(isinstance(item, int) and not isinstance(item, bool) for item in items)


# -- shared ---------------------------------------------------------------------------



def _dimensions(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError({"dimensions": "must be a positive integer"})
    return value
