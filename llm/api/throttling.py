"""Per-token rate limits now live with the other limits, in llm/rules/limits.py."""

from llm.rules.limits import GenerationRateThrottle, TokenRateThrottle  # noqa: F401
