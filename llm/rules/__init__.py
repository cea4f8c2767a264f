"""The rules every door obeys, whoever calls: the native API (llm/doors/views.py), the Ollama door
(llm/doors/ollama_door.py), the OpenAI door (llm/doors/openai_door.py) and the dashboard (llm/dashboard/).

A door translates shapes and calls these; it decides nothing itself.

- `roles`: who may change the service's state (load, unload, switch, pull, delete, work the
  queue): admin tokens and staff users. `Actor.of(request)` names the caller.
- `limits`: what a generation must fit: the size of the text a model reads (prompt, system,
  messages), the rate of generations per token, and the queue bound, taken atomically.
  `llm.queue.intake.submit_generation` applies them all: a door that queues through it obeys them.
  The rate of every call is DRF's default throttle, `limits.TokenRateThrottle`.
- `actions`: every change of state, each checking the role, acting, and writing the audit
  entry that names the token or the user.

Refusals are plain exceptions (`roles.NotAllowed`, `limits.TextTooLong`, `limits.RateLimited`,
`limits.QueueFull`); DRF's handler (llm/doors/exceptions.py) gives them their status, and each
door its own error shape.
"""
