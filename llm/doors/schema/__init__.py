"""What the OpenAPI schema says about the API (drf-spectacular), kept beside the views, not in them.

The views answer with plain dicts built in `representations.py`; the serializers
in `bodies.py` only describe those bodies, and `tests/security/test_fuzz.py` fuzzes
every operation with schemathesis to keep the two in step. Each view is described
through an `OpenApiViewExtension`, drf-spectacular's way to annotate a view without
decorating it, so the doors' views stay validate-act-respond.

- common: the error texts, the shapes the doors share, and `describe()` (one view's annotation).
- hooks: what settings.SPECTACULAR_SETTINGS runs before and after generating (which paths, 429's header).
- bodies: the native API's answers, as serializers.
- native: the native API's operations (llm/doors/views.py).
- extensions: what drf-spectacular cannot guess (the token schemes, fields computed from settings).
- ollama, openai: the compatible doors, in plain JSON schema after those APIs' own documents.
"""

from llm.doors.schema import extensions, native, ollama, openai  # noqa: F401  (registers the extensions)
