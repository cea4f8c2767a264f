"""A faithful stand-in for the Ollama HTTP API (standard library only).

Run it with ``python -m llm.standin --port 11434``; see ``server.py`` for the
HTTP side, ``ollama_api.py`` for the endpoints (``embeddings.py`` for the
embedding ones, ``calls.py`` for what they all read from a call, ``reasoning.py``
for what it thinks and which tools it calls), ``state.py`` for models,
keep-alive, RAM budget, faults and counters.  Importing this package does not
import Django (or anything outside the standard library).
"""

DEFAULT_PORT = 11434
