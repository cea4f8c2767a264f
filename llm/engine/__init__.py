"""The engine: the Ollama servers behind the gateway (the fleet's nodes) and the single-model rule on each.

- nodes: the nodes of LLM_NODES (one at OLLAMA_HOST when unset), up or down, in service or not.
- ollama: the HTTP client to Ollama.
- leases: one holder of the engine at a time, across processes, surviving crashes.
- residency: which model is loaded; unload the resident one before another loads.
- fit: does a model fit in memory and on disk before it is loaded or pulled.
- pulls: downloading models, resumable.
- keepalive: Ollama's keep_alive durations.
"""
